"""Identifiers.

Call ids travel into Asterisk as a channel variable, so they are short, ASCII and safe by
construction (hex). Other ids are database integers.
"""

from __future__ import annotations

import re
import secrets
from typing import NewType

CallId = NewType("CallId", str)
AccountId = NewType("AccountId", int)
CampaignId = NewType("CampaignId", int)
AgentId = NewType("AgentId", int)
PhoneId = NewType("PhoneId", int)

_CALL_ID_RE = re.compile(r"^[0-9a-f]{8,32}$")


def new_call_id() -> CallId:
    """A fresh random call id (16 hex digits)."""
    return CallId(secrets.token_hex(8))


def is_call_id(value: str) -> bool:
    return bool(_CALL_ID_RE.match(value))
