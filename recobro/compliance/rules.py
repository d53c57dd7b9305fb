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

from collections.abc import Collection, Iterable, Iterator
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


class DialChecker:
    """The rules for one campaign, one history and one moment; reusable for many numbers."""

    __slots__ = (
        "_agent_ready_now", "_calendar", "_campaign", "_dnc_accounts", "_dnc_numbers", "_history", "_now",
        "_windows", "_zones",
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
        self._zones: dict[tuple[tuple[str, ...], str | None, str], tuple[str, ...]] = {}
        self._windows: dict[tuple[tuple[str, ...], tuple[str, ...]], Refusal | None] = {}

    @property
    def now(self) -> datetime:
        return self._now

    def check(self, account: Account, phone: Phone, *, consent_at: datetime | None = None) -> Refusal | None:
        """The first rule that refuses this number now, or None when it may be dialed."""
        return next(self.refusals(account, phone, consent_at=consent_at), None)

    def refusals(self, account: Account, phone: Phone, *, consent_at: datetime | None = None) -> Iterator[Refusal]:
        """Every rule that refuses this number now, most lasting first (lazily)."""
        if account.do_not_call or account.external_ref in self._dnc_accounts:
            yield refuse(
                Rule.DNC_ACCOUNT,
                "la cuenta está en la lista de no llamar",
                "the account is on the do-not-call list",
            )
        if phone.do_not_call or phone.e164 in self._dnc_numbers:
            yield refuse(
                Rule.DNC_NUMBER,
                f"el número {phone.e164} está en la lista de no llamar",
                f"the number {phone.e164} is on the do-not-call list",
            )
        jurisdictions = jurisdictions_for(account.country, phone.e164)
        if jurisdictions is None:
            yield refuse(
                Rule.JURISDICTION_UNKNOWN,
                f"no hay reglas de cobranza para el país {account.country}",
                f"no collection rules are known for country {account.country}",
            )
            return
        zones = self._zones_of(account, phone, jurisdictions)
        if not zones:
            yield refuse(
                Rule.ZONE_UNKNOWN,
                f"no se sabe la zona horaria de {phone.e164} (sin zona del número ni estado de la cuenta)",
                f"the time zone of {phone.e164} is unknown (no zone from the number, no state on the account)",
            )
            return
        closed = self._window(zones, jurisdictions)
        if closed is not None:
            yield closed
        yield from self._frequency_refusals(account, phone, zones, jurisdictions, consent_at)

    def _frequency_refusals(
        self,
        account: Account,
        phone: Phone,
        zones: tuple[str, ...],
        jurisdictions: tuple[Jurisdiction, ...],
        consent_at: datetime | None,
    ) -> Iterator[Refusal]:
        now = self._now
        retry = self._campaign.retry
        number_attempts = self._history.for_number(phone.e164)
        account_attempts = self._history.for_account(account.external_ref)
        found: list[Refusal | None] = [
            frequency.max_attempts(number_attempts, retry),
            frequency.per_number_day(number_attempts, zones, now, retry),
        ]
        if not frequency.consent_exempts(consent_at, now):
            quiet = max(j.quiet_days_after_conversation for j in jurisdictions)
            cap = min(j.max_attempts_per_7_days for j in jurisdictions)
            found.append(frequency.after_conversation(account_attempts, now, quiet))
            found.append(frequency.seven_in_seven(account_attempts, now, cap))
        for j in jurisdictions:
            if j.max_contacts_per_day is not None:
                found.append(
                    frequency.contacts_per_day(account_attempts, zones, now, j.max_contacts_per_day, j.contacts_rule)
                )
        found.append(frequency.abandoned_72h(number_attempts, now, self._agent_ready_now))
        found.append(frequency.retry_delay(number_attempts, now, retry))
        for refusal in found:
            if refusal is not None:
                yield refusal

    def _zones_of(self, account: Account, phone: Phone, jurisdictions: tuple[Jurisdiction, ...]) -> tuple[str, ...]:
        # The number's own country decides which state may place it: an account's Mexican
        # state says nothing about where its US number rings.
        country = jurisdictions[-1].country
        state = account.state if account.state and account.state.upper().startswith(country + "-") else None
        key = (phone.time_zones, state, country)
        found = self._zones.get(key)
        if found is None:
            found = zones_for(phone.time_zones, state, country)
            self._zones[key] = found
        return found

    def _window(self, zones: tuple[str, ...], jurisdictions: tuple[Jurisdiction, ...]) -> Refusal | None:
        key = (zones, tuple(j.country for j in jurisdictions))
        if key in self._windows:
            return self._windows[key]
        found = window_refusal(zones, self._now, jurisdictions, self._campaign.window, self._calendar)
        self._windows[key] = found
        return found


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
    return list(checker.refusals(account, phone, consent_at=consent_at))


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
        found = list(checker.refusals(account, phone))
        if not found:
            return t
        untils = [r.until for r in found]
        if any(u is None for u in untils):
            return None
        later = max(u for u in untils if u is not None)
        t = later if later > t else t + timedelta(seconds=1)
    return None
