"""Checks on free text that comes from outside and may travel into AMI, the dialplan or a log."""

from __future__ import annotations

import unicodedata

from recobro.domain.errors import ValidationError


def has_control_chars(value: str) -> bool:
    """True if the text holds a control character (CR, LF, NUL, escape sequences...)."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value)


def clean_text(value: str, *, field: str, min_len: int = 1, max_len: int = 200) -> str:
    """Strip surrounding spaces and refuse control characters or a length outside bounds."""
    text = value.strip()
    if has_control_chars(text):
        raise ValidationError(f"{field} contains control characters", field=field, value=value)
    if not min_len <= len(text) <= max_len:
        raise ValidationError(
            f"{field} must be {min_len}-{max_len} characters, got {len(text)}", field=field, value=value
        )
    return text


def neutralize_formula(value: str) -> str:
    """Make a cell safe to re-export to a spreadsheet: a leading =, +, -, @ becomes text."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value
