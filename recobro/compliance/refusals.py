"""Refusals to dial: every one names the rule that refused and says why, in Spanish and English.

A refusal is a value, not an exception: the hopper collects them by rule so that the console
can tell a supervisor why a number is not being dialed, and ``until`` (when known) says when
this rule alone stops refusing, which ``next_allowed_at`` uses to find the next legal moment.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Rule(enum.StrEnum):
    """Rule ids; stable strings that the UI and the reports key on."""

    DNC_ACCOUNT = "dnc.account"
    DNC_NUMBER = "dnc.number"
    JURISDICTION_UNKNOWN = "jurisdiction.unknown"
    ZONE_UNKNOWN = "zone.unknown"
    WINDOW_HOLIDAY = "window.holiday"
    WINDOW_JURISDICTION = "window.jurisdiction"
    WINDOW_CAMPAIGN = "window.campaign"
    MAX_ATTEMPTS = "frequency.max_attempts"
    PER_NUMBER_DAY = "frequency.per_number_day"
    AFTER_CONVERSATION = "frequency.after_conversation"
    SEVEN_IN_SEVEN = "frequency.7in7"
    COLOMBIA_ONE_CONTACT = "colombia.one_contact_per_day"
    ABANDON_72H = "abandon.72h"
    RETRY_DELAY = "retry.delay"
    # Refusals made by the hopper itself, not by the law or the campaign.
    IN_FLIGHT = "hopper.in_flight"
    ACCOUNT_IN_FLIGHT = "hopper.account_in_flight"
    NO_PHONE = "hopper.no_phone"
    BAD_NUMBER = "hopper.bad_number"
    CALLBACK_ACCOUNT_MISSING = "hopper.callback_account_missing"
    CALLBACK_PENDING = "hopper.callback_pending"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a number may not be dialed now; ``until`` is when this rule alone would allow it."""

    rule: str
    reason: str  # "Spanish / English"
    until: datetime | None = None


def refuse(rule: Rule, es: str, en: str, until: datetime | None = None) -> Refusal:
    """A refusal with its reason written Spanish first, then English."""
    return Refusal(rule=rule.value, reason=f"{es} / {en}", until=until)
