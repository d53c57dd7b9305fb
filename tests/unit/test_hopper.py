"""The hopper: order, callbacks first, reservations, one pick per number and per account."""

from __future__ import annotations

import random
import time as clock
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from dialer.selection import Batch, Callback, Hopper, order_key, select
from recobro.compliance.history import Attempt, History
from recobro.compliance.refusals import Rule
from recobro.domain.accounts import Account, Phone
from recobro.domain.campaigns import CallingWindow, Campaign, HopperOrder, RetryOutcome
from recobro.domain.errors import ValidationError

MX = ZoneInfo("America/Mexico_City")
NOW = datetime(2025, 7, 8, 12, 0, tzinfo=MX)  # Tuesday noon
NIGHT = datetime(2025, 7, 8, 23, 0, tzinfo=MX)
WINDOW = CallingWindow(time(8, 0), time(21, 0))


def campaign(order: HopperOrder = HopperOrder.RISK_DESC) -> Campaign:
    return Campaign("c", window=WINDOW, hopper_order=order)


def phone(i: int, position: int = 1, *, dnc: bool = False) -> Phone:
    zones = ("America/Mexico_City",)
    return Phone(e164=f"+5255{10000000 + i:08d}", position=position, time_zones=zones, do_not_call=dnc)


def account(
    ref: str,
    *phones: Phone,
    risk: str | None = None,
    balance: str = "100",
    due: date = date(2025, 6, 1),
    score: str | None = None,
) -> Account:
    return Account(
        ref,
        f"Deudor {ref}",
        Decimal(balance),
        "MXN",
        due,
        30,
        phones=phones,
        region="MX",
        risk_score=None if risk is None else Decimal(risk),
        extra={} if score is None else {"score": score},
    )


def refs(batch: Batch) -> list[str]:
    return [p.account.external_ref for p in batch.picks]


ORDER_CASES = [
    (
        HopperOrder.RISK_DESC,
        [account("a", phone(1), risk="0.2"), account("b", phone(2)), account("c", phone(3), risk="0.9")],
        ["c", "a", "b"],
    ),
    (
        HopperOrder.BALANCE_DESC,
        [account("a", phone(1), balance="10.50"), account("b", phone(2), balance="10.51"), account("c", phone(3))],
        ["c", "b", "a"],
    ),
    (
        HopperOrder.OLDEST_DUE,
        [
            account("a", phone(1), due=date(2025, 5, 2)),
            account("b", phone(2), due=date(2025, 3, 1)),
            account("c", phone(3), due=date(2025, 5, 1)),
        ],
        ["b", "c", "a"],
    ),
    (
        HopperOrder.SCORE,
        [
            account("a", phone(1), score="3.5"),
            account("b", phone(2), score="not a number"),
            account("c", phone(3), score="12"),
            account("d", phone(4)),
            account("e", phone(5), score="nan"),
            account("f", phone(6), score="-1"),
        ],
        ["c", "a", "f", "b", "d", "e"],  # unknown scores last, in the given order
    ),
]


@pytest.mark.parametrize(("order", "accounts", "expected"), ORDER_CASES, ids=[c[0].value for c in ORDER_CASES])
def test_campaign_order(order: HopperOrder, accounts: list[Account], expected: list[str]) -> None:
    batch = select(accounts, [], [], campaign(order), NOW, 10)
    assert refs(batch) == expected
    assert refs(select(accounts, [], [], campaign(order), NOW, 2)) == expected[:2]
    assert order_key(order)(accounts[0]) == order_key(order)(accounts[0])


def test_due_callbacks_go_first_oldest_first() -> None:
    accounts = [account(r, phone(i), risk=str(1 - i / 10)) for i, r in enumerate("abcde")]
    callbacks = [
        Callback("d", due_at=NOW - timedelta(minutes=5)),
        Callback("e", due_at=NOW - timedelta(minutes=30)),
        Callback("a", due_at=NOW + timedelta(hours=2)),  # not due: held back
    ]
    batch = select(accounts, [], callbacks, campaign(), NOW, 10)
    assert refs(batch) == ["e", "d", "b", "c"]
    assert [p.callback is not None for p in batch.picks] == [True, True, False, False]
    assert batch.counts_by_rule() == {Rule.CALLBACK_PENDING: 1}


def test_callback_on_a_given_number_and_consent() -> None:
    # A conversation yesterday, in which the debtor asked to be called today on the second number.
    acct = account("a", phone(1), phone(2, position=2))
    history = [Attempt(phone(1).e164, "a", NOW - timedelta(days=1), None, conversation=True)]
    callbacks = [Callback("a", due_at=NOW - timedelta(minutes=1), number=phone(2).e164,
                          requested_at=NOW - timedelta(days=1))]
    batch = select([acct], history, callbacks, campaign(), NOW, 5)
    assert [(p.account.external_ref, p.phone.e164) for p in batch.picks] == [("a", phone(2).e164)]
    # Without the callback, the quiet week after the conversation holds the account.
    quiet = select([acct], history, [], campaign(), NOW, 5)
    assert quiet.picks == ()
    assert set(quiet.counts_by_rule()) == {Rule.AFTER_CONVERSATION}


def test_callback_number_not_on_the_account_is_parsed() -> None:
    acct = account("a", phone(1))
    batch = select([acct], [], [Callback("a", NOW, number="+52 1 55 9876 5432")], campaign(), NOW, 1)
    assert batch.picks[0].phone.e164 == "+525598765432"
    assert batch.picks[0].phone.time_zones == ("America/Mexico_City",)


def test_callback_problems_are_named() -> None:
    acct = account("a", phone(1))
    batch = select([acct], [], [Callback("zz", NOW), Callback("a", NOW, number="12")], campaign(), NOW, 5)
    assert batch.picks == ()
    assert batch.counts_by_rule() == {Rule.CALLBACK_ACCOUNT_MISSING: 1, Rule.BAD_NUMBER: 1}


def test_refused_callback_is_reported_and_not_retried_in_the_same_batch() -> None:
    acct = account("a", phone(1, dnc=True))
    batch = select([acct], [], [Callback("a", NOW)], campaign(), NOW, 5)
    assert batch.picks == ()
    assert [(s.account_ref, s.refusal.rule) for s in batch.skipped] == [("a", Rule.DNC_NUMBER)]


def test_reserved_numbers_and_accounts_in_flight_are_never_picked() -> None:
    accounts = [
        account("a", phone(1), phone(2, position=2), risk="0.9"),
        account("b", phone(3), risk="0.8"),
        account("c", phone(4), risk="0.7"),
    ]
    batch = select(accounts, [], [], campaign(), NOW, 10, in_flight={phone(1).e164}, accounts_in_flight={"c"})
    assert [(p.account.external_ref, p.phone.e164) for p in batch.picks] == [("a", phone(2).e164), ("b", phone(3).e164)]
    assert batch.counts_by_rule() == {Rule.IN_FLIGHT: 1, Rule.ACCOUNT_IN_FLIGHT: 1}


def test_a_number_shared_by_two_accounts_is_picked_once() -> None:
    shared = phone(7)
    accounts = [account("a", shared, risk="0.9"), account("b", shared, phone(8, position=2), risk="0.5")]
    batch = select(accounts, [], [], campaign(), NOW, 10)
    assert [(p.account.external_ref, p.phone.e164) for p in batch.picks] == [("a", shared.e164), ("b", phone(8).e164)]


def test_an_account_is_picked_once_on_its_first_allowed_number_by_position() -> None:
    acct = account("a", phone(3, position=3), phone(1, position=1, dnc=True), phone(2, position=2))
    batch = select([acct, acct], [], [], campaign(), NOW, 10)
    assert [p.phone.e164 for p in batch.picks] == [phone(2).e164]
    assert [s.number for s in batch.skipped] == [phone(1).e164]


def test_refusals_by_rule_say_why_nothing_is_dialed() -> None:
    accounts = [
        account("a", phone(1)),
        account("b"),
        account("c", phone(3, dnc=True)),
        account("d", phone(4)),
    ]
    history = [Attempt(phone(4).e164, "d", NOW - timedelta(minutes=5), RetryOutcome.BUSY)]
    batch = select(accounts, history, [], campaign(), NOW, 10)
    assert refs(batch) == ["a"]
    assert batch.counts_by_rule() == {Rule.NO_PHONE: 1, Rule.DNC_NUMBER: 1, Rule.RETRY_DELAY: 1}
    groups = batch.by_rule()
    assert [s.account_ref for s in groups[Rule.RETRY_DELAY]] == ["d"]
    assert " / " in groups[Rule.DNC_NUMBER][0].refusal.reason
    night = select(accounts, history, [], campaign(), NIGHT, 10)
    assert night.picks == ()
    assert night.counts_by_rule()[Rule.WINDOW_JURISDICTION] == 2


def test_batch_size() -> None:
    accounts = [account(f"r{i}", phone(i)) for i in range(5)]
    assert len(select(accounts, [], [], campaign(), NOW, 3).picks) == 3
    assert select(accounts, [], [], campaign(), NOW, 0) == Batch((), (), 0)
    with pytest.raises(ValidationError):
        select(accounts, [], [], campaign(), NOW, -1)


def test_hopper_never_hands_a_reserved_number_twice() -> None:
    accounts = [account(f"r{i}", phone(i), risk=str(i)) for i in range(6)]
    hopper = Hopper()
    first = hopper.next_batch(accounts, [], [], campaign(), NOW, 4)
    second = hopper.next_batch(accounts, [], [], campaign(), NOW, 4)
    numbers_1 = {p.phone.e164 for p in first.picks}
    numbers_2 = {p.phone.e164 for p in second.picks}
    assert len(numbers_1) == 4 and len(numbers_2) == 2
    assert not numbers_1 & numbers_2
    assert hopper.reserved == numbers_1 | numbers_2
    assert select(accounts, [], [], campaign(), NOW, 4, in_flight=hopper.reserved).picks == ()
    released = first.picks[0].phone.e164
    hopper.release(released)
    hopper.release(released)  # twice is harmless
    assert not hopper.is_reserved(released)
    third = hopper.next_batch(accounts, [], [], campaign(), NOW, 4)
    assert [p.phone.e164 for p in third.picks] == [released]


def test_hopper_holds_the_account_while_one_of_its_numbers_is_out() -> None:
    acct = account("a", phone(1), phone(2, position=2))
    hopper = Hopper()
    assert [p.phone.e164 for p in hopper.next_batch([acct], [], [], campaign(), NOW, 2).picks] == [phone(1).e164]
    again = hopper.next_batch([acct], [], [], campaign(), NOW, 2)
    assert again.picks == () and again.counts_by_rule() == {Rule.ACCOUNT_IN_FLIGHT: 1}
    hopper.release(phone(1).e164)
    assert len(hopper.next_batch([acct], [], [], campaign(), NOW, 2).picks) == 1


def test_reserving_twice_is_an_error() -> None:
    hopper = Hopper()
    hopper.reserve("+525500000001", "a")
    with pytest.raises(ValidationError):
        hopper.reserve("+525500000001", "b")


def _population(size: int) -> tuple[list[Account], History]:
    rnd = random.Random(7)
    zones = [("America/Mexico_City",), ("America/Tijuana",), ("America/Cancun",), ("America/Mexico_City",
             "America/Tijuana")]
    accounts = []
    for i in range(size):
        z = rnd.choice(zones)
        phones = tuple(
            Phone(e164=f"+52{rnd.randrange(10**9, 10**10)}", time_zones=z, position=k + 1)
            for k in range(rnd.randint(1, 3))
        )
        accounts.append(
            Account(f"R{i}", "x", Decimal(rnd.randint(100, 10**6)) / 100, "MXN", date(2025, 6, 1), 30,
                    phones=phones, region="MX", risk_score=Decimal(rnd.randint(0, 1000)) / 1000)
        )
    history = History(
        Attempt(a.phones[0].e164, a.external_ref, NOW - timedelta(hours=rnd.randint(1, 300)),
                rnd.choice([*RetryOutcome, None]))
        for a in rnd.sample(accounts, size // 2)
    )
    return accounts, history


def test_100k_candidates_in_well_under_a_second() -> None:
    accounts, history = _population(100_000)
    start = clock.process_time()
    batch = select(accounts, history, [], campaign(), NOW, 200)
    typical = clock.process_time() - start
    assert len(batch.picks) == 200
    start = clock.process_time()
    closed = select(accounts, history, [], campaign(), NIGHT, 200)  # every candidate examined
    worst = clock.process_time() - start
    assert closed.picks == () and closed.examined == 100_000
    assert typical < 0.5, typical
    assert worst < 1.5, worst
