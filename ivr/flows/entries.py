"""Reading what a caller typed: a promise date (day and month, or in N days) and an amount.

Pure functions returning either the value or the reason it is refused; the flows turn a reason
into the matching prompt. A day-and-month entry means this year's date unless that date is more
than half a year behind (typed in December for January): then next year's.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

MAX_DAYS_DIGITS = 3
MAX_AMOUNT_DIGITS = 9  # whole units; more is a typing mistake, not a debt
_AMOUNT = re.compile(r"^(\d+)(?:\*(\d{1,2}))?$")


class Refusal(enum.StrEnum):
    NOTHING = "nothing"
    TOO_MANY_DIGITS = "too_many_digits"
    INVALID = "invalid"
    PAST = "past"
    BEYOND_HORIZON = "beyond_horizon"
    ABOVE_BALANCE = "above_balance"


@dataclass(frozen=True, slots=True)
class Refused:
    reason: Refusal


def _within(day: date, today: date, horizon_days: int) -> date | Refused:
    if day < today:
        return Refused(Refusal.PAST)
    if day > today + timedelta(days=horizon_days):
        return Refused(Refusal.BEYOND_HORIZON)
    return day


def parse_day_month(digits: str, *, today: date, horizon_days: int) -> date | Refused:
    """``"0511"`` -> the fifth of November (this year or, typed late in the year, the next)."""
    if not digits:
        return Refused(Refusal.NOTHING)
    if len(digits) > 4:
        return Refused(Refusal.TOO_MANY_DIGITS)
    if len(digits) != 4 or not digits.isdigit():
        return Refused(Refusal.INVALID)
    day, month = int(digits[:2]), int(digits[2:])
    try:
        candidate = date(today.year, month, day)
    except ValueError:
        return Refused(Refusal.INVALID)
    if (today - candidate).days > 182:
        try:
            candidate = date(today.year + 1, month, day)
        except ValueError:  # 29 February of a non-leap next year
            return Refused(Refusal.INVALID)
    return _within(candidate, today, horizon_days)


def parse_in_days(digits: str, *, today: date, horizon_days: int) -> date | Refused:
    """``"10"`` -> today plus ten days."""
    if not digits:
        return Refused(Refusal.NOTHING)
    if len(digits) > MAX_DAYS_DIGITS:
        return Refused(Refusal.TOO_MANY_DIGITS)
    if not digits.isdigit():
        return Refused(Refusal.INVALID)
    return _within(today + timedelta(days=int(digits)), today, horizon_days)


def parse_amount(digits: str, *, balance: Decimal) -> Decimal | Refused:
    """``"500*50"`` -> 500.50 (the star separates the cents); never above the balance nor zero."""
    if not digits:
        return Refused(Refusal.NOTHING)
    m = _AMOUNT.match(digits)
    if m is None:
        return Refused(Refusal.INVALID)
    if len(m.group(1)) > MAX_AMOUNT_DIGITS:
        return Refused(Refusal.TOO_MANY_DIGITS)
    cents = (m.group(2) or "0").ljust(2, "0")
    amount = Decimal(f"{int(m.group(1))}.{cents}")
    if amount <= 0:
        return Refused(Refusal.INVALID)
    if amount > balance:
        return Refused(Refusal.ABOVE_BALANCE)
    return amount
