"""Accounts (a debt owed to the creditor) and the phone numbers that reach the debtor."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from recobro.domain.ids import AccountId, PhoneId


class PhoneType(enum.StrEnum):
    MOBILE = "mobile"
    FIXED = "fixed"
    VOIP = "voip"
    TOLL_FREE = "toll_free"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Phone:
    """One number of an account, in E.164, with what the rules need to know about it."""

    e164: str
    type: PhoneType = PhoneType.UNKNOWN
    position: int = 1  # phone1, phone2, phone3
    consent: bool = False  # written consent to be called on a mobile (TCPA, autodialer)
    do_not_call: bool = False
    time_zones: tuple[str, ...] = ()  # IANA zones the number may be in (several for toll-free)
    id: PhoneId | None = None


@dataclass(frozen=True, slots=True)
class Account:
    """A delinquent account as the creditor sent it (one row of an accounts list)."""

    external_ref: str
    debtor_name: str
    balance: Decimal
    currency: str
    due_date: date
    days_past_due: int
    phones: tuple[Phone, ...] = ()
    national_id: str | None = None
    segment: str | None = None
    risk_score: Decimal | None = None
    language: str = "es"
    state: str | None = None  # ISO 3166-2 subdivision, e.g. MX-CMX, US-TX
    region: str = "MX"  # ISO 3166-1 country the account belongs to
    do_not_call: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    id: AccountId | None = None

    @property
    def country(self) -> str:
        """The country whose rules apply: the subdivision's country, else the region."""
        if self.state and "-" in self.state:
            return self.state.split("-", 1)[0]
        return self.region


def days_past_due(due: date, today: date) -> int:
    """Days since the due date, zero before it."""
    return max(0, (today - due).days)
