"""Typed entries (promise date, in N days, amount), identity checks, the static agent desk, SMS."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.agents import StaticAgentDesk
from ivr.flows.entries import Refusal, Refused, parse_amount, parse_day_month, parse_in_days
from ivr.identity import hash_pin, id_last4, verify_id_last4, verify_pin
from ivr.ports import AgentRequest, AgentTarget
from ivr.sms import masked_number, pay_link_body

TODAY = date(2026, 11, 26)


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("0512", date(2026, 12, 5)),
        ("2611", TODAY),
        ("2612", date(2026, 12, 26)),
        ("2712", Refused(Refusal.BEYOND_HORIZON)),
        ("2511", Refused(Refusal.PAST)),
        ("", Refused(Refusal.NOTHING)),
        ("05123", Refused(Refusal.TOO_MANY_DIGITS)),
        ("051", Refused(Refusal.INVALID)),
        ("3102", Refused(Refusal.INVALID)),
        ("0013", Refused(Refusal.INVALID)),
        ("05*2", Refused(Refusal.INVALID)),
    ],
)
def test_day_month(digits: str, expected: date | Refused) -> None:
    assert parse_day_month(digits, today=TODAY, horizon_days=30) == expected


def test_day_month_typed_in_december_for_january_is_next_year() -> None:
    assert parse_day_month("0501", today=date(2026, 12, 20), horizon_days=30) == date(2027, 1, 5)
    assert parse_day_month("2902", today=date(2026, 12, 20), horizon_days=90) == Refused(Refusal.INVALID)


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("0", TODAY),
        ("10", date(2026, 12, 6)),
        ("30", date(2026, 12, 26)),
        ("31", Refused(Refusal.BEYOND_HORIZON)),
        ("1234", Refused(Refusal.TOO_MANY_DIGITS)),
        ("1*", Refused(Refusal.INVALID)),
        ("", Refused(Refusal.NOTHING)),
    ],
)
def test_in_days(digits: str, expected: date | Refused) -> None:
    assert parse_in_days(digits, today=TODAY, horizon_days=30) == expected


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("500", Decimal("500.00")),
        ("500*5", Decimal("500.50")),
        ("500*05", Decimal("500.05")),
        ("1234*50", Decimal("1234.50")),
        ("1234*51", Refused(Refusal.ABOVE_BALANCE)),
        ("0", Refused(Refusal.INVALID)),
        ("0*00", Refused(Refusal.INVALID)),
        ("5*123", Refused(Refusal.INVALID)),
        ("*50", Refused(Refusal.INVALID)),
        ("1234567890", Refused(Refusal.TOO_MANY_DIGITS)),
        ("", Refused(Refusal.NOTHING)),
    ],
)
def test_amount(digits: str, expected: Decimal | Refused) -> None:
    assert parse_amount(digits, balance=Decimal("1234.50")) == expected


@given(st.text(alphabet="0123456789*#", max_size=12), st.integers(0, 365), st.integers(0, 3000))
def test_accepted_dates_are_always_within_today_and_the_horizon(digits: str, horizon: int, offset: int) -> None:
    today = date(2025, 1, 1) + timedelta(days=offset)
    for parse in (parse_day_month, parse_in_days):
        got = parse(digits, today=today, horizon_days=horizon)
        if isinstance(got, date):
            assert today <= got <= today + timedelta(days=horizon)


@given(
    st.text(alphabet="0123456789*#", max_size=14),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**7), places=2),
)
def test_accepted_amounts_are_positive_and_within_the_balance(digits: str, balance: Decimal) -> None:
    got = parse_amount(digits, balance=balance)
    if isinstance(got, Decimal):
        assert Decimal("0") < got <= balance
        assert got == got.quantize(Decimal("0.01"))


def test_pin_and_id_checks() -> None:
    hashed = hash_pin("482913")
    assert "482913" not in hashed
    assert verify_pin(hashed, "482913")
    assert not verify_pin(hashed, "482914")
    assert not verify_pin("not-a-hash", "482913")
    with pytest.raises(ValueError):
        hash_pin("12")
    assert id_last4("PEGM800101MDFRRR09") == "0109"
    assert id_last4("AB1") is None
    assert verify_id_last4("123-45-6789", "6789")
    assert not verify_id_last4("123-45-6789", "6788")
    assert not verify_id_last4("X1", "0001")


def test_static_desk_hours_and_next_opening() -> None:
    target = AgentTarget("dial", "PJSIP/agents")
    now = datetime(2026, 11, 26, 21, 30, tzinfo=UTC)
    desk = StaticAgentDesk(target, now=lambda: now, opens=time(9, 0), closes=time(20, 0), wait_seconds=30)
    info = asyncio.run(desk.availability(1, ()))
    assert not info.open and info.next_open == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert desk.next_opening(datetime(2026, 11, 26, 7, 0, tzinfo=UTC)) == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    request = AgentRequest("c1", 1, 1, "+525512345678", ())
    assert asyncio.run(desk.reserve(request, 5)) is None
    noon = StaticAgentDesk(target, now=lambda: now.replace(hour=12))
    assert asyncio.run(noon.reserve(request, 5)) == target
    assert asyncio.run(StaticAgentDesk(None, now=lambda: now.replace(hour=12)).availability(1, ())).open is False


def test_sms_text_and_masked_number() -> None:
    assert masked_number("+525512345678") == "*********5678"
    assert (
        pay_link_body("Cobranza Uno", "https://x/p/1", "es")
        == "Cobranza Uno: para pagar su saldo use este enlace: https://x/p/1"
    )
    assert pay_link_body("Co", "L", "en").startswith("Co: to pay your balance")
