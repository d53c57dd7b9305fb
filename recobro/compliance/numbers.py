"""Phone numbers: any common notation in, E.164 out, with the time zones the number may be in.

Pure (phonenumbers' metadata only). Mexican mobiles are still written with the ``+52 1`` or
``044``/``045`` prefixes dropped in 2019; phonenumbers calls them invalid, so they are
normalized first. A number phonenumbers cannot place in a time zone returns no zone, and the
caller falls back to the account's state (see ``recobro.compliance.zones``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType, is_number_type_geographical, number_type
from phonenumbers import timezone as pn_timezone

from recobro.domain.accounts import PhoneType
from recobro.domain.errors import ValidationError

_UNKNOWN_ZONE = "Etc/Unknown"
_ALLOWED = re.compile(r"^[0-9+()\-.\s/]+$")

_TYPES = {
    PhoneNumberType.MOBILE: PhoneType.MOBILE,
    PhoneNumberType.FIXED_LINE: PhoneType.FIXED,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: PhoneType.MOBILE,
    PhoneNumberType.VOIP: PhoneType.VOIP,
    PhoneNumberType.TOLL_FREE: PhoneType.TOLL_FREE,
}


@dataclass(frozen=True, slots=True)
class ParsedPhone:
    e164: str
    type: PhoneType
    time_zones: tuple[str, ...]
    valid: bool  # phonenumbers knows the number range; False = possible length only


def normalize_mx_mobile(raw: str) -> str:
    """Drop the retired Mexican mobile prefixes (``+52 1``, ``044``, ``045``) if present."""
    digits = re.sub(r"\D", "", raw)
    plus = raw.strip().startswith("+")
    if (plus or len(digits) == 13) and len(digits) == 13 and digits.startswith("521"):
        return "+52" + digits[3:]
    if len(digits) == 13 and digits[:3] in ("044", "045"):
        return digits[3:]
    return raw


def parse_phone(raw: str, region: str) -> ParsedPhone:
    """Parse ``raw`` read in ``region`` (ISO country); ValidationError says why it is not a number."""
    text = raw.strip()
    if not text:
        raise ValidationError("empty phone number", value=raw)
    if not _ALLOWED.match(text):
        raise ValidationError("phone number has characters other than digits, spaces, + ( ) - .", value=raw)
    if region.upper() == "MX" or text.startswith("+52"):
        text = normalize_mx_mobile(text)
    try:
        num = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"not a phone number ({exc._msg})", value=raw) from exc
    if not phonenumbers.is_possible_number(num):
        raise ValidationError(f"wrong number of digits for a number in {region.upper()}", value=raw)
    valid = phonenumbers.is_valid_number(num)
    zones: tuple[str, ...] = ()
    kind = PhoneType.UNKNOWN
    if valid:
        # The number's type is the expensive part of phonenumbers; work it out once and ask for
        # the zones of a geographical number directly (time_zones_for_number would redo it).
        ntype = number_type(num)
        kind = _TYPES.get(ntype, PhoneType.UNKNOWN)
        if is_number_type_geographical(ntype, num.country_code or 0):
            found = pn_timezone.time_zones_for_geographical_number(num)
        else:
            found = pn_timezone.time_zones_for_number(num)
        zones = tuple(z for z in found if z != _UNKNOWN_ZONE)
    e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    return ParsedPhone(e164=e164, type=kind, time_zones=zones, valid=valid)


def country_of(e164: str) -> str | None:
    """The ISO country of an E.164 number, if phonenumbers knows it."""
    try:
        num = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.region_code_for_number(num)
