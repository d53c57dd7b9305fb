"""Calling windows: the debtor's local time, the law's hours, holidays, the campaign's window.

Hand-picked moments around each boundary, in each jurisdiction. The campaign window is wide
open unless a case is about it, so that the law's hours are what is tested.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from recobro.compliance.numbers import parse_phone
from recobro.compliance.rules import check_dial, next_allowed_at
from recobro.domain.accounts import Account, Phone
from recobro.domain.campaigns import CallingWindow, Campaign

WIDE = Campaign("wide", window=CallingWindow(time(0, 0), time(23, 59)))
NINE_TO_EIGHT = Campaign("9-20", window=CallingWindow(time(9, 0), time(20, 0)))

PHX = ZoneInfo("America/Phoenix")
CHI = ZoneInfo("America/Chicago")
NYC = ZoneInfo("America/New_York")
MEX = ZoneInfo("America/Mexico_City")
TIJ = ZoneInfo("America/Tijuana")
BOG = ZoneInfo("America/Bogota")


def phone(raw: str, region: str) -> Phone:
    p = parse_phone(raw, region)
    return Phone(e164=p.e164, type=p.type, time_zones=p.time_zones)


def account(region: str, state: str | None = None) -> Account:
    return Account("A1", "Ana Pérez", Decimal("1200.50"), "USD", date(2025, 1, 1), 30, region=region, state=state)


AZ = phone("+1 602 555 0123", "US")  # Phoenix: no daylight saving
TOLL_FREE = phone("+1 800 234 5678", "US")
CDMX = phone("+52 1 55 1234 5678", "MX")  # old mobile prefix, normalized
MX_TWO_ZONES = phone("+52 200 123 4567", "MX")  # phonenumbers: Mexico City and Tijuana
CO_MOBILE = phone("+57 321 123 4567", "CO")


def test_numbers_used_here_are_what_the_cases_assume() -> None:
    assert AZ.time_zones == ("America/Phoenix",)
    assert CDMX.e164 == "+525512345678"
    assert CDMX.time_zones == ("America/Mexico_City",)
    assert set(MX_TWO_ZONES.time_zones) == {"America/Mexico_City", "America/Tijuana"}
    assert len(TOLL_FREE.time_zones) > 20
    assert CO_MOBILE.time_zones == ("America/Bogota",)


@pytest.mark.parametrize(
    ("label", "acct", "ph", "campaign", "now", "rule"),
    [
        # United States, Reg F: 08:00-21:00 local.
        ("AZ 20:30 allowed", account("US"), AZ, WIDE, datetime(2025, 7, 1, 20, 30, tzinfo=PHX), None),
        ("AZ 20:59 allowed", account("US"), AZ, WIDE, datetime(2025, 7, 1, 20, 59, tzinfo=PHX), None),
        ("AZ 21:00 refused", account("US"), AZ, WIDE, datetime(2025, 7, 1, 21, 0, tzinfo=PHX), "window.jurisdiction"),
        ("AZ 07:59 refused", account("US"), AZ, WIDE, datetime(2025, 7, 1, 7, 59, tzinfo=PHX), "window.jurisdiction"),
        ("AZ 08:00 allowed", account("US"), AZ, WIDE, datetime(2025, 7, 1, 8, 0, tzinfo=PHX), None),
        # now given in UTC: 03:30 UTC is 20:30 in Phoenix
        ("AZ via UTC", account("US"), AZ, WIDE, datetime(2025, 7, 2, 3, 30, tzinfo=ZoneInfo("UTC")), None),
        # The campaign's own window is stricter than the law's: it decides.
        ("campaign 20:30", account("US"), AZ, NINE_TO_EIGHT, datetime(2025, 7, 1, 20, 30, tzinfo=PHX),
         "window.campaign"),
        ("campaign 08:30", account("US"), AZ, NINE_TO_EIGHT, datetime(2025, 7, 1, 8, 30, tzinfo=PHX),
         "window.campaign"),
        ("campaign 19:59", account("US"), AZ, NINE_TO_EIGHT, datetime(2025, 7, 1, 19, 59, tzinfo=PHX), None),
        # Toll-free: every US zone (Guam to Pago Pago) must be open.
        ("toll-free noon NY", account("US"), TOLL_FREE, WIDE, datetime(2025, 7, 1, 12, 0, tzinfo=NYC),
         "window.jurisdiction"),
        ("toll-free 15:30 AZ", account("US"), TOLL_FREE, WIDE, datetime(2025, 7, 1, 15, 30, tzinfo=PHX), None),
        # ...unless the account's state places the debtor: Texas is Central and (El Paso) Mountain.
        ("toll-free TX noon", account("US", "US-TX"), TOLL_FREE, WIDE, datetime(2025, 7, 1, 12, 0, tzinfo=NYC),
         None),
        ("toll-free TX 20:30 CT", account("US", "US-TX"), TOLL_FREE, WIDE, datetime(2025, 7, 1, 20, 30, tzinfo=CHI),
         None),
        ("toll-free TX 21:00 CT", account("US", "US-TX"), TOLL_FREE, WIDE, datetime(2025, 7, 1, 21, 0, tzinfo=CHI),
         "window.jurisdiction"),
        ("toll-free TX 08:30 CT", account("US", "US-TX"), TOLL_FREE, WIDE, datetime(2025, 7, 1, 8, 30, tzinfo=CHI),
         "window.jurisdiction"),  # 07:30 in El Paso
        # Mexico, CONDUSEF: 07:00-22:00 local, every day.
        ("CDMX 21:59", account("MX"), CDMX, WIDE, datetime(2025, 3, 2, 21, 59, tzinfo=MEX), None),
        ("CDMX 22:00", account("MX"), CDMX, WIDE, datetime(2025, 3, 2, 22, 0, tzinfo=MEX), "window.jurisdiction"),
        ("CDMX 06:59", account("MX"), CDMX, WIDE, datetime(2025, 3, 2, 6, 59, tzinfo=MEX), "window.jurisdiction"),
        ("CDMX 07:00 Sunday", account("MX"), CDMX, WIDE, datetime(2025, 3, 2, 7, 0, tzinfo=MEX), None),
        # A number in two zones: 07:30 in Mexico City is 06:30 in Tijuana (July, Tijuana on DST).
        ("two zones, no state", account("MX"), MX_TWO_ZONES, WIDE, datetime(2025, 7, 1, 7, 30, tzinfo=MEX),
         "window.jurisdiction"),
        ("two zones, state CMX", account("MX", "MX-CMX"), MX_TWO_ZONES, WIDE,
         datetime(2025, 7, 1, 7, 30, tzinfo=MEX), None),
        ("two zones, state BCN", account("MX", "MX-BCN"), MX_TWO_ZONES, WIDE,
         datetime(2025, 7, 1, 7, 30, tzinfo=MEX), "window.jurisdiction"),
        # Colombia, Ley 2300: Mon-Fri 07:00-19:00, Sat 08:00-15:00, never Sundays nor holidays.
        ("CO Tue 18:59", account("CO"), CO_MOBILE, WIDE, datetime(2025, 7, 1, 18, 59, tzinfo=BOG), None),
        ("CO Tue 19:00", account("CO"), CO_MOBILE, WIDE, datetime(2025, 7, 1, 19, 0, tzinfo=BOG),
         "window.jurisdiction"),
        ("CO Tue 06:59", account("CO"), CO_MOBILE, WIDE, datetime(2025, 7, 1, 6, 59, tzinfo=BOG),
         "window.jurisdiction"),
        ("CO Sat 07:30", account("CO"), CO_MOBILE, WIDE, datetime(2025, 7, 5, 7, 30, tzinfo=BOG),
         "window.jurisdiction"),
        ("CO Sat 14:59", account("CO"), CO_MOBILE, WIDE, datetime(2025, 7, 5, 14, 59, tzinfo=BOG), None),
        ("CO Sat 15:00", account("CO"), CO_MOBILE, WIDE, datetime(2025, 7, 5, 15, 0, tzinfo=BOG),
         "window.jurisdiction"),
        ("CO Sunday noon", account("CO"), CO_MOBILE, WIDE, datetime(2025, 7, 6, 12, 0, tzinfo=BOG),
         "window.jurisdiction"),
        ("CO Thu holiday (Boyacá)", account("CO"), CO_MOBILE, WIDE, datetime(2025, 8, 7, 10, 0, tzinfo=BOG),
         "window.holiday"),
        ("CO Mon holiday (Inmaculada)", account("CO"), CO_MOBILE, WIDE, datetime(2025, 12, 8, 10, 0, tzinfo=BOG),
         "window.holiday"),
        ("CO day after holiday", account("CO"), CO_MOBILE, WIDE, datetime(2025, 8, 8, 10, 0, tzinfo=BOG), None),
        # A Mexican account reached on a US number: US law binds too (closes at 21:00, not 22:00).
        ("MX account, US number 21:30", account("MX"), AZ, WIDE, datetime(2025, 7, 1, 21, 30, tzinfo=PHX),
         "window.jurisdiction"),
        ("MX account, US number 20:30", account("MX"), AZ, WIDE, datetime(2025, 7, 1, 20, 30, tzinfo=PHX), None),
        # A Colombian account on a Mexican number: Colombian Sundays still bind.
        ("CO account, MX number Sunday", account("CO"), CDMX, WIDE, datetime(2025, 3, 2, 12, 0, tzinfo=MEX),
         "window.jurisdiction"),
    ],
)
def test_window(label: str, acct: Account, ph: Phone, campaign: Campaign, now: datetime, rule: str | None) -> None:
    refusal = check_dial(acct, ph, campaign, [], now)
    assert (refusal.rule if refusal else None) == rule, (label, refusal)


def test_window_refusal_says_when_it_opens() -> None:
    refusal = check_dial(account("CO"), CO_MOBILE, WIDE, [], datetime(2025, 7, 5, 15, 0, tzinfo=BOG))
    assert refusal is not None
    # Saturday after 15:00 -> Sunday closed -> Monday 07:00
    assert refusal.until == datetime(2025, 7, 7, 7, 0, tzinfo=BOG)


def test_holiday_reason_names_the_holiday_in_both_languages() -> None:
    refusal = check_dial(account("CO"), CO_MOBILE, WIDE, [], datetime(2025, 8, 7, 10, 0, tzinfo=BOG))
    assert refusal is not None
    es, en = refusal.reason.split(" / ")
    assert "festivo" in es and "Batalla de Boyacá" in es
    assert "holiday" in en and "Boyac" in en


@pytest.mark.parametrize(
    ("acct", "ph", "now", "expected"),
    [
        # Colombia, Saturday 16:00 before a Sunday holiday: Monday 07:00.
        (account("CO"), CO_MOBILE, datetime(2025, 7, 19, 16, 0, tzinfo=BOG), datetime(2025, 7, 21, 7, 0, tzinfo=BOG)),
        # Friday 19:30 before a Monday holiday (2025-08-18, Asunción): Saturday 08:00.
        (account("CO"), CO_MOBILE, datetime(2025, 8, 15, 19, 30, tzinfo=BOG), datetime(2025, 8, 16, 8, 0, tzinfo=BOG)),
        # Saturday 15:00 before that holiday Monday: Tuesday 07:00.
        (account("CO"), CO_MOBILE, datetime(2025, 8, 16, 15, 0, tzinfo=BOG), datetime(2025, 8, 19, 7, 0, tzinfo=BOG)),
        # Arizona 21:00: next morning 08:00.
        (account("US"), AZ, datetime(2025, 7, 1, 21, 0, tzinfo=PHX), datetime(2025, 7, 2, 8, 0, tzinfo=PHX)),
        # Already open: now.
        (account("US"), AZ, datetime(2025, 7, 1, 12, 0, tzinfo=PHX), datetime(2025, 7, 1, 12, 0, tzinfo=PHX)),
    ],
)
def test_next_allowed_at_window(acct: Account, ph: Phone, now: datetime, expected: datetime) -> None:
    assert next_allowed_at(acct, ph, WIDE, [], now) == expected


def test_toll_free_next_allowed_is_open_in_every_zone() -> None:
    now = datetime(2025, 7, 1, 12, 0, tzinfo=NYC)
    at = next_allowed_at(account("US"), TOLL_FREE, WIDE, [], now)
    assert at is not None and at > now
    for zone in TOLL_FREE.time_zones:
        local = at.astimezone(ZoneInfo(zone)).time()
        assert time(8, 0) <= local < time(21, 0), zone
    assert check_dial(account("US"), TOLL_FREE, WIDE, [], at) is None
