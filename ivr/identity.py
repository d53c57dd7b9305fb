"""Checking what a caller typed to prove identity: a PIN (argon2 hash) or the id's last 4 digits.

Comparisons are constant-time; the digits are never logged. ``hash_pin`` is what setting a PIN
stores in ``accounts.pin_hash``.
"""

from __future__ import annotations

import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()

PIN_MIN, PIN_MAX = 4, 8


def hash_pin(pin: str) -> str:
    if not (pin.isdigit() and PIN_MIN <= len(pin) <= PIN_MAX):
        raise ValueError(f"a PIN is {PIN_MIN}-{PIN_MAX} digits")
    return _HASHER.hash(pin)


def verify_pin(pin_hash: str, typed: str) -> bool:
    try:
        return _HASHER.verify(pin_hash, typed)
    except (VerificationError, InvalidHashError):
        return False


def id_last4(national_id: str) -> str | None:
    """The last four digits of a national id (CURP/RFC/SSN may mix letters), None if fewer."""
    digits = "".join(ch for ch in national_id if ch.isdigit())
    return digits[-4:] if len(digits) >= 4 else None


def verify_id_last4(national_id: str, typed: str) -> bool:
    expected = id_last4(national_id)
    if expected is None:
        return False
    return hmac.compare_digest(expected.encode(), typed.encode())
