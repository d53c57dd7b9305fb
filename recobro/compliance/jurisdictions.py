"""The law of each country as one row of data: hours per weekday, holidays, contact caps.

Adding a country is adding a row. The hours are the legal outer bounds in the debtor's local
time (start inclusive, end exclusive); a campaign's own window is intersected with them. The
frequency caps of Reg F are applied as the platform's policy in every country: they are
stricter than what Mexican and Colombian rules require of telephone collection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from types import MappingProxyType

from recobro.compliance.refusals import Rule

Hours = tuple[time, time]  # (start inclusive, end exclusive), local time


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """One country's rules for collection calls."""

    country: str  # ISO 3166-1 alpha-2
    name_es: str
    name_en: str
    calling_code: str  # "+1", "+52": numbers outside it belong to another country's rules
    legal_basis: str
    hours: tuple[Hours | None, ...]  # Monday first; None = no calls that weekday
    holidays_country: str | None = None  # no calls on this country's public holidays
    max_contacts_per_day: int | None = None
    contacts_rule: Rule = Rule.COLOMBIA_ONE_CONTACT
    max_attempts_per_7_days: int = 7
    quiet_days_after_conversation: int = 7

    def __post_init__(self) -> None:
        if len(self.hours) != 7:
            raise ValueError(f"{self.country}: hours needs 7 weekdays, got {len(self.hours)}")
        for h in self.hours:
            if h is not None and not h[0] < h[1]:
                raise ValueError(f"{self.country}: hours {h} end before they start")


def _every_day(start: time, end: time) -> tuple[Hours | None, ...]:
    return ((start, end),) * 7


JURISDICTIONS: Mapping[str, Jurisdiction] = MappingProxyType({
    "US": Jurisdiction(
        country="US",
        name_es="Estados Unidos",
        name_en="United States",
        calling_code="+1",
        legal_basis="Regulation F, 12 CFR 1006.6(b)(1)(i) (8 a.m.-9 p.m.) and 1006.14(b)(2) (7-in-7)",
        hours=_every_day(time(8, 0), time(21, 0)),
    ),
    "MX": Jurisdiction(
        country="MX",
        name_es="México",
        name_en="Mexico",
        calling_code="+52",
        legal_basis="CONDUSEF, disposiciones para despachos de cobranza (7:00-22:00)",
        hours=_every_day(time(7, 0), time(22, 0)),
    ),
    "CO": Jurisdiction(
        country="CO",
        name_es="Colombia",
        name_en="Colombia",
        calling_code="+57",
        legal_basis="Ley 2300 de 2023, art. 3 (L-V 7:00-19:00, sáb 8:00-15:00, no domingos ni festivos)",
        hours=(
            (time(7, 0), time(19, 0)),
            (time(7, 0), time(19, 0)),
            (time(7, 0), time(19, 0)),
            (time(7, 0), time(19, 0)),
            (time(7, 0), time(19, 0)),
            (time(8, 0), time(15, 0)),
            None,
        ),
        holidays_country="CO",
        max_contacts_per_day=1,
        contacts_rule=Rule.COLOMBIA_ONE_CONTACT,
    ),
})


def jurisdictions_for(account_country: str, number: str) -> tuple[Jurisdiction, ...] | None:
    """Every jurisdiction whose rules apply: the account's country and the number's, if different.

    A Mexican account reached on a US number is a debtor who may be in the US, so both
    countries' rules bind. None when the account's country has no row. A number outside the
    account's calling code is looked up by its code only when the code is unambiguous among
    the rows; a number whose code no row covers is left to the account's rules.
    """
    own = JURISDICTIONS.get(account_country.upper())
    if own is None:
        return None
    if number.startswith(own.calling_code):
        return (own,)
    other = tuple(j for j in JURISDICTIONS.values() if number.startswith(j.calling_code))
    return (own, *other)
