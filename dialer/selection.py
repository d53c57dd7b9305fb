"""The hopper: which numbers to dial next, in the campaign's order, each one legal to dial now.

Pure: the candidates, the attempt history, the due callbacks, the campaign and ``now`` come in;
picks and the refusals of the skipped numbers (by rule, so the console can say why a list is
not being dialed) come out. Due callbacks go first (oldest due first), then the campaign's
order. A batch never holds the same number or the same account twice, and never a number or
an account already reserved or in flight.

Cost: one stable sort of the candidates on a float key (O(n log n), about 20 ms for 100,000),
then the rules for each account examined until the batch is full; the rules share one
``DialChecker`` per batch, so zone and window look-ups are made once per kind of number.

``Hopper`` keeps the reservations between batches: a number handed to one dialer is not handed
to another until it is released.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from recobro.compliance.history import Attempt, History, as_history
from recobro.compliance.numbers import parse_phone
from recobro.compliance.refusals import Refusal, Rule, refuse
from recobro.compliance.rules import DialChecker
from recobro.compliance.windows import HolidayCalendar
from recobro.domain.accounts import Account, Phone
from recobro.domain.campaigns import Campaign, HopperOrder
from recobro.domain.errors import ValidationError

_NONE: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Callback:
    """A call the debtor or an agent scheduled; ``requested_at`` is when the debtor asked for it."""

    account_ref: str
    due_at: datetime
    number: str | None = None  # E.164; None = the account's numbers in order
    requested_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Pick:
    account: Account
    phone: Phone
    callback: Callback | None = None


class Skip(NamedTuple):
    """A number (or an account, when ``number`` is None) the batch passed over, and why.

    A named tuple, not a dataclass: a batch over 100,000 closed numbers makes 200,000 of them.
    """

    account_ref: str
    number: str | None
    refusal: Refusal


@dataclass(frozen=True, slots=True)
class Batch:
    picks: tuple[Pick, ...]
    skipped: tuple[Skip, ...]
    examined: int  # accounts looked at (callbacks included)

    def counts_by_rule(self) -> dict[str, int]:
        """How many numbers each rule held back in this batch."""
        return dict(Counter(s.refusal.rule for s in self.skipped))

    def by_rule(self) -> dict[str, tuple[Skip, ...]]:
        """The skipped numbers grouped by the rule that refused them."""
        groups: dict[str, list[Skip]] = {}
        for s in self.skipped:
            groups.setdefault(s.refusal.rule, []).append(s)
        return {rule: tuple(skips) for rule, skips in groups.items()}


def _score(account: Account) -> float | None:
    raw = account.extra.get("score")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


_LAST = math.inf  # accounts without the value sort after every account with it


def order_key(order: HopperOrder) -> Callable[[Account], float]:
    """The sort key of a campaign order: smaller first, unknown values last.

    A plain float: sorting 100,000 floats is several times cheaper than sorting tuples or
    Decimals, and a float keeps the order of amounts with cents far beyond any real balance.
    The sort is stable, so ties keep the order in which the candidates were given.
    """
    if order == HopperOrder.RISK_DESC:
        return lambda a: _LAST if a.risk_score is None else -float(a.risk_score)
    if order == HopperOrder.BALANCE_DESC:
        return lambda a: -float(a.balance)
    if order == HopperOrder.OLDEST_DUE:
        return lambda a: float(a.due_date.toordinal())

    def score(a: Account) -> float:
        s = _score(a)
        return _LAST if s is None else -s

    return score


def _phone_for(account: Account, number: str) -> Phone:
    for p in account.phones:
        if p.e164 == number:
            return p
    parsed = parse_phone(number, account.region)
    return Phone(e164=parsed.e164, type=parsed.type, time_zones=parsed.time_zones)


class _Selector:
    """The state of one batch being built."""

    def __init__(
        self,
        checker: DialChecker,
        n: int,
        in_flight: Collection[str],
        accounts_in_flight: Collection[str],
    ) -> None:
        self.checker = checker
        self.n = n
        self.in_flight = in_flight
        self.accounts_in_flight = accounts_in_flight
        self.picks: list[Pick] = []
        self.skipped: list[Skip] = []
        self.numbers: set[str] = set()
        self.handled: set[str] = set()

    @property
    def full(self) -> bool:
        return len(self.picks) >= self.n

    def consider(self, account: Account, phones: Sequence[Phone], callback: Callback | None) -> None:
        """Pick the account's first number that every rule allows, or record why none was."""
        ref = account.external_ref
        self.handled.add(ref)
        skipped = self.skipped
        if ref in self.accounts_in_flight:
            skipped.append(Skip(ref, None, _ACCOUNT_BUSY))
            return
        if not phones:
            skipped.append(Skip(ref, None, _NO_PHONE))
            return
        consent = callback.requested_at if callback else None
        check = self.checker.check
        for phone in phones:
            number = phone.e164
            if number in self.in_flight or number in self.numbers:
                skipped.append(Skip(ref, number, _NUMBER_BUSY))
                continue
            refusal = check(account, phone, consent_at=consent)
            if refusal is not None:
                skipped.append(Skip(ref, number, refusal))
                continue
            self.picks.append(Pick(account, phone, callback))
            self.numbers.add(number)
            return


_ACCOUNT_BUSY = refuse(
    Rule.ACCOUNT_IN_FLIGHT,
    "la cuenta ya tiene una llamada en curso o reservada",
    "the account already has a call in flight or reserved",
)
_NUMBER_BUSY = refuse(
    Rule.IN_FLIGHT,
    "el número ya está reservado o en una llamada",
    "the number is already reserved or in a call",
)
_NO_PHONE = refuse(Rule.NO_PHONE, "la cuenta no tiene teléfonos", "the account has no phone numbers")
_CALLBACK_PENDING = refuse(
    Rule.CALLBACK_PENDING,
    "la cuenta tiene una devolución de llamada acordada para más tarde",
    "the account has a callback agreed for later",
)
_NO_ACCOUNT = refuse(
    Rule.CALLBACK_ACCOUNT_MISSING,
    "la cuenta de la devolución de llamada no está entre las candidatas",
    "the callback's account is not among the candidates",
)


def _bad_number(exc: ValidationError) -> Refusal:
    return refuse(
        Rule.BAD_NUMBER,
        f"el número de la devolución de llamada no es válido ({exc.message})",
        f"the callback's number is not valid ({exc.message})",
    )


def select(
    candidates: Sequence[Account],
    history: History | Iterable[Attempt],
    callbacks: Iterable[Callback],
    campaign: Campaign,
    now: datetime,
    n: int,
    *,
    in_flight: Collection[str] = _NONE,
    accounts_in_flight: Collection[str] = _NONE,
    agent_ready_now: bool = False,
    dnc_numbers: Collection[str] = _NONE,
    dnc_accounts: Collection[str] = _NONE,
    calendar: HolidayCalendar | None = None,
) -> Batch:
    """Up to ``n`` (account, phone) picks that every rule allows now, due callbacks first.

    ``in_flight`` holds the numbers reserved or being dialed, ``accounts_in_flight`` their
    accounts; neither is picked. An account is picked at most once, on its first number (by
    position) that passes every rule; the numbers passed over are reported in ``skipped``.
    ``calendar`` lets a caller that selects often keep the loaded holiday calendars.
    """
    if n < 0:
        raise ValidationError("batch size must be >= 0", field="n", value=n)
    if n == 0:
        return Batch((), (), 0)
    checker = DialChecker(
        campaign,
        as_history(history),
        now,
        agent_ready_now=agent_ready_now,
        dnc_numbers=dnc_numbers,
        dnc_accounts=dnc_accounts,
        calendar=calendar,
    )
    sel = _Selector(checker, n, in_flight, accounts_in_flight)
    by_ref = {a.external_ref: a for a in candidates}
    due: list[Callback] = []
    pending: set[str] = set()
    for cb in callbacks:
        if cb.due_at <= now:
            due.append(cb)
        else:
            pending.add(cb.account_ref)
    due.sort(key=lambda cb: (cb.due_at, cb.account_ref))
    examined = 0
    for cb in due:
        if sel.full:
            break
        account = by_ref.get(cb.account_ref)
        if account is None:
            sel.skipped.append(Skip(cb.account_ref, cb.number, _NO_ACCOUNT))
            continue
        if cb.account_ref in sel.handled:
            continue  # an older callback of the same account was considered first
        examined += 1
        try:
            phones = (_phone_for(account, cb.number),) if cb.number else _by_position(account)
        except ValidationError as exc:
            sel.handled.add(cb.account_ref)
            sel.skipped.append(Skip(cb.account_ref, cb.number, _bad_number(exc)))
            continue
        # A refused callback is not tried again below: the same rules would refuse it.
        sel.consider(account, phones, cb)

    picks, handled, skipped = sel.picks, sel.handled, sel.skipped
    for account in _in_order(candidates, order_key(campaign.hopper_order)):
        if len(picks) >= n:
            break
        ref = account.external_ref
        if ref in handled:
            continue
        examined += 1
        if ref in pending:
            # The debtor agreed on a later time: calling before it would break the agreement.
            handled.add(ref)
            skipped.append(Skip(ref, None, _CALLBACK_PENDING))
            continue
        sel.consider(account, _by_position(account), None)
    return Batch(tuple(picks), tuple(skipped), examined)


def _in_order(candidates: Sequence[Account], key: Callable[[Account], float]) -> Iterator[Account]:
    """The candidates in campaign order (stable: ties keep the given order)."""
    values = [key(a) for a in candidates]
    for i in sorted(range(len(values)), key=values.__getitem__):
        yield candidates[i]


def _by_position(account: Account) -> Sequence[Phone]:
    phones = account.phones
    last = -1
    for p in phones:
        if p.position < last:
            return sorted(phones, key=_position)
        last = p.position
    return phones


def _position(phone: Phone) -> int:
    return phone.position


class Hopper:
    """Hands out numbers to dialers and remembers them until released.

    Not a lock across processes: one Hopper per campaign in one process (the engine's), the
    way the dialer engine owns its campaign.
    """

    __slots__ = ("_accounts", "_calendar", "_numbers")

    def __init__(self) -> None:
        self._numbers: dict[str, str] = {}  # reserved number -> its account
        self._accounts: Counter[str] = Counter()
        self._calendar = HolidayCalendar()  # public holidays do not change between batches

    @property
    def reserved(self) -> frozenset[str]:
        return frozenset(self._numbers)

    def is_reserved(self, number: str) -> bool:
        return number in self._numbers

    def next_batch(
        self,
        candidates: Sequence[Account],
        history: History | Iterable[Attempt],
        callbacks: Iterable[Callback],
        campaign: Campaign,
        now: datetime,
        n: int,
        *,
        agent_ready_now: bool = False,
        dnc_numbers: Collection[str] = _NONE,
        dnc_accounts: Collection[str] = _NONE,
    ) -> Batch:
        """``select`` around the current reservations; every pick is reserved before returning."""
        batch = select(
            candidates,
            history,
            callbacks,
            campaign,
            now,
            n,
            in_flight=self._numbers.keys(),
            accounts_in_flight=self._accounts.keys(),
            agent_ready_now=agent_ready_now,
            dnc_numbers=dnc_numbers,
            dnc_accounts=dnc_accounts,
            calendar=self._calendar,
        )
        for pick in batch.picks:
            self.reserve(pick.phone.e164, pick.account.external_ref)
        return batch

    def reserve(self, number: str, account_ref: str) -> None:
        """Hold ``number`` for a dialer; a number already held is a programming error."""
        if number in self._numbers:
            raise ValidationError(f"number {number} is already reserved", field="number", value=number)
        self._numbers[number] = account_ref
        self._accounts[account_ref] += 1

    def release(self, number: str) -> None:
        """The call on ``number`` is over (or was never placed); releasing twice is harmless."""
        account_ref = self._numbers.pop(number, None)
        if account_ref is None:
            return
        self._accounts[account_ref] -= 1
        if self._accounts[account_ref] <= 0:
            del self._accounts[account_ref]
