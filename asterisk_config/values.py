"""Checks on every value that is written into an Asterisk configuration file.

A value from settings ends up inside ``key = value`` lines or dialplan applications, where a
newline starts a new directive, ``;`` starts a comment and ``,`` / ``)`` end an application
argument. So each kind of value has its own narrow alphabet, checked before rendering.
"""

from __future__ import annotations

import ipaddress
import re

from recobro.domain.errors import ValidationError
from recobro.domain.text import has_control_chars

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")
_SOUND_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_/.-]{0,127}$")
_PATH_RE = re.compile(r"^/[A-Za-z0-9_/.+-]{0,255}$")
_FORBIDDEN_IN_TEXT = set(";,()[]{}$\"'\\|=")


def config_name(value: str, *, field: str) -> str:
    """A user name, endpoint or script name: letters, digits, ``_ . -``; 1-64 characters."""
    if not _NAME_RE.fullmatch(value):
        raise ValidationError(
            f"{field} debe ser letras, dígitos, _ . - (1-64) / must be letters, digits, _ . - (1-64)",
            field=field,
            value=value,
        )
    return value


def secret(value: str, *, field: str) -> str:
    """A password: printable ASCII without spaces, quotes or ``;``; 8-128 characters."""
    ok = 8 <= len(value) <= 128 and value.isascii() and all(33 <= ord(c) <= 126 for c in value)
    if not ok or any(c in ";\"'\\" for c in value):
        raise ValidationError(
            f"{field}: 8-128 caracteres ASCII visibles, sin ; comillas ni \\ / "
            "8-128 visible ASCII characters, no ; quotes or \\",
            field=field,
        )
    return value


def host(value: str, *, field: str) -> str:
    """An IP address or DNS name (no port)."""
    try:
        ipaddress.ip_address(value)
        return value
    except ValueError:
        pass
    if not _HOST_RE.fullmatch(value) or ".." in value:
        raise ValidationError(f"{field} no es un host válido / is not a valid host", field=field, value=value)
    return value


def port(value: int, *, field: str) -> int:
    if not 1 <= value <= 65535:
        raise ValidationError(f"{field} debe estar entre 1 y 65535 / must be 1-65535", field=field, value=str(value))
    return value


def host_port(value: str, *, field: str, default_port: int = 5060) -> tuple[str, int]:
    """``host`` or ``host:port`` (IPv4 or a name) into its parts."""
    name, sep, number = value.rpartition(":")
    if not sep:
        return host(value, field=field), default_port
    if not number.isdigit():
        raise ValidationError(f"{field}: puerto inválido / invalid port", field=field, value=value)
    return host(name, field=field), port(int(number), field=field)


def sound(value: str, *, field: str) -> str:
    """A sound file name for Playback (no extension): letters, digits, ``_ / . -``, no ``..``."""
    if not _SOUND_RE.fullmatch(value) or ".." in value:
        raise ValidationError(
            f"{field} no es un nombre de audio válido / is not a valid sound name", field=field, value=value
        )
    return value


def path(value: str, *, field: str) -> str:
    """An absolute path made of plain characters."""
    if not _PATH_RE.fullmatch(value) or "/../" in value + "/":
        raise ValidationError(f"{field} no es una ruta absoluta simple / is not a plain absolute path",
                              field=field, value=value)
    return value


def text(value: str, *, field: str, max_len: int = 80) -> str:
    """Free text (a company name) for a comment or a global variable: no control characters or
    characters that mean something in a config file or the dialplan."""
    if has_control_chars(value) or any(c in _FORBIDDEN_IN_TEXT for c in value):
        raise ValidationError(
            f"{field} contiene caracteres no permitidos / contains characters that are not allowed",
            field=field,
            value=value,
        )
    if not 1 <= len(value.strip()) <= max_len:
        raise ValidationError(f"{field} debe tener 1-{max_len} caracteres / must be 1-{max_len} characters",
                              field=field, value=value)
    return value.strip()


def digits(value: str, *, field: str) -> str:
    """A phone number for SayDigits: an optional leading + and 4-15 digits."""
    bare = value[1:] if value.startswith("+") else value
    if not (bare.isdigit() and bare.isascii() and 4 <= len(bare) <= 15):
        raise ValidationError(
            f"{field} debe ser un número telefónico (+ y dígitos) / must be a phone number (+ and digits)",
            field=field,
            value=value,
        )
    return value
