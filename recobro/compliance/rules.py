"""May this number be dialed now? Every rule, in one pure function, each refusal named.

``check_dial`` answers for one number; the hopper builds one ``DialChecker`` per batch so that
zone look-ups, window checks and holiday calendars are computed once per zone, not once per
number. Rules run from the most lasting to the most passing (do-not-call first, retry delays
last), so the first refusal is the one most worth showing.

Callbacks the debtor asked for carry ``consent_at``: within 7 days of that consent the call is
outside Reg F's 7-in-7 and post-conversation counts (12 CFR 1006.14(b)(3)(i)); the windows, the
do-not-call lists and every other cap still apply.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from recobro.compliance import frequency
from recobro.compliance.history import Attempt, History, as_history
from recobro.compliance.jurisdictions import Jurisdiction, jurisdictions_for
from recobro.compliance.refusals import Refusal, Rule, refuse
from recobro.compliance.windows import HolidayCalendar, window_refusal
from recobro.compliance.zones import zones_for
from recobro.domain.accounts import Account, Phone
from recobro.domain.campaigns import Campaign
from recobro.domain.errors import ValidationError

_NO_STRINGS: frozenset[str] = frozenset()
_MAX_STEPS = 64


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a number rings, as the rules see it: the same for every number of one kind."""

    jurisdictions: tuple[Jurisdiction, ...]
    zones: tuple[str, ...]
    refusal: Refusal | None  # unknown jurisdiction or zone, or a closed window
    final: bool  # the refusal leaves nothing else to check


class DialChecker:
    """The rules for one campaign, one history and one moment; reusable for many numbers.

    Where a number rings (its jurisdictions, zones and whether the window is open there)
    depends only on the account's country and state, the number's calling code and its zones,
    so it is computed once per such combination and batch.
    """

    __slots__ = (
        "_agent_ready_now",
        "_calendar",
        "_campaign",
        "_dnc_accounts",
        "_dnc_numbers",
        "_history",
        "_now",
        "_places",
    )

    def __init__(
        self,
        campaign: Campaign,
        history: History | Iterable[Attempt],
        now: datetime,
        *,
        agent_ready_now: bool = False,
        dnc_numbers: Collection[str] = _NO_STRINGS,
        dnc_accounts: Collection[str] = _NO_STRINGS,
        calendar: HolidayCalendar | None = None,
    ) -> None:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValidationError("now must carry a time zone", field="now", value=now)
        self._campaign = campaign
        self._history = as_history(history)
        self._now = now
        self._agent_ready_now = agent_ready_now
        self._dnc_numbers = dnc_numbers
        self._dnc_accounts = dnc_accounts
        self._calendar = calendar if calendar is not None else HolidayCalendar()
        self._places: dict[tuple[str, str | None, str, tuple[str, ...]], _Place] = {}

    @property
    def now(self) -> datetime:
        return self._now

    def check(self, account: Account, phone: Phone, *, consent_at: datetime | None = None) -> Refusal | None:
        """The first rule that refuses this number now, or None when it may be dialed."""
        found = self._collect(account, phone, consent_at, first=True)
        return found[0] if found else None

    def refusals(self, account: Account, phone: Phone, *, consent_at: datetime | None = None) -> list[Refusal]:
        """Every rule that refuses this number now, most lasting first."""
        return self._collect(account, phone, consent_at, first=False)

    def _collect(self, account: Account, phone: Phone, consent_at: datetime | None, *, first: bool) -> list[Refusal]:
        out: list[Refusal] = []
        if account.do_not_call or account.external_ref in self._dnc_accounts:
            out.append(_DNC_ACCOUNT)
            if first:
                return out
        if phone.do_not_call or phone.e164 in self._dnc_numbers:
            out.append(
                refuse(
                    Rule.DNC_NUMBER,
                    f"el número {phone.e164} está en la lista de no llamar",
                    f"the number {phone.e164} is on the do-not-call list",
                )
            )
            if first:
                return out
        # E.164 country codes have at most 3 digits: "+" and 3 characters decide the code.
        key = (account.region, account.state, phone.e164[:4], phone.time_zones)
        place = self._places.get(key)
        if place is None:
            place = self._places[key] = self._locate(account, phone)
        if place.refusal is not None:
            out.append(place.refusal)
            if first or place.final:
                return out
        by_number = self._history.for_number(phone.e164)
        by_account = self._history.for_account(account.external_ref)
        if not by_number and not by_account:
            return out  # nothing dialed yet: no cap, quiet period nor delay can refuse
        for refusal in self._frequency(by_number, by_account, place, consent_at):
            if refusal is not None:
                out.append(refusal)
                if first:
                    return out
        return out

    def _frequency(
        self,
        by_number: Sequence[Attempt],
        by_account: Sequence[Attempt],
        place: _Place,
        consent_at: datetime | None,
    ) -> Iterator[Refusal | None]:
        """The frequency rules in order, each evaluated only when the caller asks for it."""
        now = self._now
        retry = self._campaign.retry
        zones = place.zones
        jurisdictions = place.jurisdictions
        yield frequency.max_attempts(by_number, retry)
        yield frequency.per_number_day(by_number, zones, now, retry)
        if not frequency.consent_exempts(consent_at, now):
            quiet = max(j.quiet_days_after_conversation for j in jurisdictions)
            yield frequency.after_conversation(by_account, now, quiet)
            cap = min(j.max_attempts_per_7_days for j in jurisdictions)
            yield frequency.seven_in_seven(by_account, now, cap)
        for j in jurisdictions:
            if j.max_contacts_per_day is not None:
                yield frequency.contacts_per_day(by_account, zones, now, j.max_contacts_per_day, j.contacts_rule)
        yield frequency.abandoned_72h(by_number, now, self._agent_ready_now)
        yield frequency.retry_delay(by_number, now, retry)

    def _locate(self, account: Account, phone: Phone) -> _Place:
        jurisdictions = jurisdictions_for(account.country, phone.e164)
        if jurisdictions is None:
            unknown = refuse(
                Rule.JURISDICTION_UNKNOWN,
                f"no hay reglas de cobranza para el país {account.country}",
                f"no collection rules are known for country {account.country}",
            )
            return _Place((), (), unknown, final=True)
        # The number's own country decides which state may place it: an account's Mexican
        # state says nothing about where its US number rings.
        country = jurisdictions[-1].country
        state = account.state if account.state and account.state.upper().startswith(country + "-") else None
        zones = zones_for(phone.time_zones, state, country)
        if not zones:
            unplaced = refuse(
                Rule.ZONE_UNKNOWN,
                "no se sabe la zona horaria del número (sin zona del número ni estado de la cuenta)",
                "the number's time zone is unknown (no zone from the number, no state on the account)",
            )
            return _Place(jurisdictions, (), unplaced, final=True)
        closed = window_refusal(zones, self._now, jurisdictions, self._campaign.window, self._calendar)
        return _Place(jurisdictions, zones, closed, final=False)


_DNC_ACCOUNT = refuse(
    Rule.DNC_ACCOUNT,
    "la cuenta está en la lista de no llamar",
    "the account is on the do-not-call list",
)


def check_dial(
    account: Account,
    phone: Phone,
    campaign: Campaign,
    history: History | Iterable[Attempt],
    now: datetime,
    agent_ready_now: bool = False,
    *,
    dnc_numbers: Collection[str] = _NO_STRINGS,
    dnc_accounts: Collection[str] = _NO_STRINGS,
    consent_at: datetime | None = None,
) -> Refusal | None:
    """None when ``phone`` of ``account`` may be dialed at ``now``; else the first rule that refuses."""
    checker = DialChecker(
        campaign, history, now, agent_ready_now=agent_ready_now, dnc_numbers=dnc_numbers, dnc_accounts=dnc_accounts
    )
    return checker.check(account, phone, consent_at=consent_at)


def all_refusals(
    account: Account,
    phone: Phone,
    campaign: Campaign,
    history: History | Iterable[Attempt],
    now: datetime,
    agent_ready_now: bool = False,
    *,
    dnc_numbers: Collection[str] = _NO_STRINGS,
    dnc_accounts: Collection[str] = _NO_STRINGS,
    consent_at: datetime | None = None,
) -> list[Refusal]:
    """Every rule that refuses the number now (for a screen that explains, not for the hot path)."""
    checker = DialChecker(
        campaign, history, now, agent_ready_now=agent_ready_now, dnc_numbers=dnc_numbers, dnc_accounts=dnc_accounts
    )
    return checker.refusals(account, phone, consent_at=consent_at)


def next_allowed_at(
    account: Account,
    phone: Phone,
    campaign: Campaign,
    history: History | Iterable[Attempt],
    now: datetime,
    agent_ready_now: bool = False,
    *,
    dnc_numbers: Collection[str] = _NO_STRINGS,
    dnc_accounts: Collection[str] = _NO_STRINGS,
) -> datetime | None:
    """The first moment from ``now`` when the number may be dialed if nothing else happens.

    None when a rule refuses for good (do-not-call, attempts exhausted, no known zone) or no
    moment is found within a bounded search. Each step jumps to the latest ``until`` of the
    refusals found, so a window that opens while a quiet period still runs is skipped.
    """
    index = as_history(history)
    calendar = HolidayCalendar()
    t = now
    for _ in range(_MAX_STEPS):
        checker = DialChecker(
            campaign, index, t, agent_ready_now=agent_ready_now, dnc_numbers=dnc_numbers,
            dnc_accounts=dnc_accounts, calendar=calendar,
        )
        found = checker.refusals(account, phone)
        if not found:
            return t
        untils = [r.until for r in found]
        if any(u is None for u in untils):
            return None
        later = max(u for u in untils if u is not None)
        t = later if later > t else t + timedelta(seconds=1)
    return None
