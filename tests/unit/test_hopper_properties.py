"""Property: whatever the accounts, histories and outcomes, the hopper never makes an illegal call.

A random campaign runs a sequence of hopper batches over advancing time; every pick becomes an
attempt with a random outcome. Each pick is then re-checked against the rules as the spec states
them, by an oracle written here from the spec (its own state table, its own hours, its own
counting), not by calling ``check_dial``. Numbers are real valid numbers of the US, Mexico and
Colombia, so their zones come from phonenumbers' data.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

import holidays
import phonenumbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import timezone as pn_timezone

from dialer.selection import Callback, Hopper, Pick
from recobro.compliance.history import Attempt
from recobro.compliance.numbers import parse_phone
from recobro.domain.accounts import Account, Phone
from recobro.domain.campaigns import CallingWindow, Campaign, HopperOrder, RetryOutcome, RetryRules

# ---------------------------------------------------------------------------------------------
# Real numbers: prefixes whose zones phonenumbers knows, varied deterministically.


def _pool() -> list[Phone]:
    rnd = random.Random(2024)
    raws: list[tuple[str, str]] = []
    for area in ("212", "312", "303", "602", "213", "907", "808", "800", "915"):
        raws += [(f"+1{area}{rnd.randint(2, 9)}{rnd.randrange(10**5, 10**6)}", "US") for _ in range(3)]
    for area in ("55", "664", "998", "81", "656"):
        raws += [(f"+52{area}{rnd.randrange(10 ** (9 - len(area)), 10 ** (10 - len(area)))}", "MX") for _ in range(3)]
    raws += [(f"+52 1 55 {rnd.randrange(10**7, 10**8)}", "MX") for _ in range(2)]  # old mobile prefix
    for area in ("300", "321", "601"):
        raws += [(f"+57{area}{rnd.randrange(10**6, 10**7)}", "CO") for _ in range(3)]
    phones = []
    for raw, region in raws:
        parsed = parse_phone(raw, region)
        assert parsed.valid and parsed.time_zones, raw
        phones.append(Phone(e164=parsed.e164, type=parsed.type, time_zones=parsed.time_zones))
    return phones


POOL = _pool()
POOL_BY_COUNTRY = {c: [p for p in POOL if p.e164.startswith(code)] for c, code in (("US", "+1"), ("MX", "+52"),
                                                                                    ("CO", "+57"))}

# ---------------------------------------------------------------------------------------------
# The oracle: the rules as the spec states them.

STATES = {
    "US": [None, "US-TX", "US-CA", "US-AZ", "US-NY", "US-FL"],
    "MX": [None, "MX-CMX", "MX-BCN", "MX-SON", "MX-ROO", "MX-CHH"],
    "CO": [None, "CO-DC", "CO-ANT"],
}
STATE_ZONES = {
    "US-TX": ("America/Chicago", "America/Denver"),  # El Paso is on Mountain time
    "US-CA": ("America/Los_Angeles",),
    "US-AZ": ("America/Phoenix", "America/Denver"),  # the Navajo Nation keeps DST
    "US-NY": ("America/New_York",),
    "US-FL": ("America/New_York", "America/Chicago"),  # the panhandle is Central
    "MX-CMX": ("America/Mexico_City",),
    "MX-BCN": ("America/Tijuana",),
    "MX-SON": ("America/Hermosillo",),
    "MX-ROO": ("America/Cancun",),
    "MX-CHH": ("America/Chihuahua", "America/Ciudad_Juarez", "America/Ojinaga"),
    "CO-DC": ("America/Bogota",),
    "CO-ANT": ("America/Bogota",),
}
EVERY_DAY_US = (time(8), time(21))  # Reg F
EVERY_DAY_MX = (time(7), time(22))  # CONDUSEF
Hours = tuple[time, time] | None
LAW_HOURS: dict[str, list[Hours]] = {
    "US": [EVERY_DAY_US for _ in range(7)],
    "MX": [EVERY_DAY_MX for _ in range(7)],
    # Ley 2300: Mon-Fri 7-19, Sat 8-15, no Sundays
    "CO": [(time(7), time(19))] * 5 + [(time(8), time(15))] + [None],
}
CO_HOLIDAYS = holidays.country_holidays("CO")
WEEK = timedelta(days=7)
CONTACT = {None, RetryOutcome.MACHINE}


def number_country(e164: str) -> str | None:
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))


def number_zones(e164: str) -> tuple[str, ...]:
    zones = pn_timezone.time_zones_for_number(phonenumbers.parse(e164, None))
    return tuple(z for z in zones if z != "Etc/Unknown")


def account_country(a: Account) -> str:
    return a.state.split("-")[0] if a.state else a.region


def oracle_zones(a: Account, e164: str) -> tuple[str, ...]:
    own = number_zones(e164)
    if len(own) == 1:
        return own
    country = number_country(e164)
    if a.state and a.state.split("-")[0] == country:
        return STATE_ZONES[a.state]
    return own


def oracle_violations(
    pick: Pick,
    at: datetime,
    prior: list[Attempt],
    campaign: Campaign,
    agent_ready: bool,
    dnc_numbers: set[str],
) -> list[str]:
    """The rules this pick broke, judged from the spec alone."""
    a, number = pick.account, pick.phone.e164
    broken: list[str] = []
    if a.do_not_call or pick.phone.do_not_call or number in dnc_numbers:
        broken.append("dnc")
    laws = {account_country(a)}
    if number_country(number) in LAW_HOURS:
        laws.add(str(number_country(number)))
    zones = oracle_zones(a, number)
    assert zones
    w = campaign.window
    for zone in zones:
        local = at.astimezone(ZoneInfo(zone))
        for law in laws:
            if law == "CO" and local.date() in CO_HOLIDAYS:
                broken.append(f"holiday in {zone}")
            hours = LAW_HOURS[law][local.weekday()]
            if hours is None or not hours[0] <= local.time() < hours[1]:
                broken.append(f"{law} hours in {zone} at {local}")
        if not w.start <= local.time() < w.end:
            broken.append(f"campaign window in {zone} at {local}")
    of_account = [p for p in prior if p.account_ref == a.external_ref]
    of_number = [p for p in prior if p.number == number]
    cb = pick.callback
    consent = cb is not None and cb.requested_at is not None and timedelta(0) <= at - cb.requested_at < WEEK
    if not consent:
        if sum(1 for p in of_account if at - p.at < WEEK) >= 7:
            broken.append("7 in 7")
        if any(p.conversation and at - p.at < WEEK for p in of_account):
            broken.append("within 7 days of a conversation")
    if len(of_number) >= campaign.retry.max_attempts_per_number:
        broken.append("max attempts per number")
    for zone in zones:
        tz = ZoneInfo(zone)
        today = at.astimezone(tz).date()
        same_day = sum(1 for p in of_number if p.at.astimezone(tz).date() == today)
        if same_day >= campaign.retry.max_attempts_per_number_per_day:
            broken.append(f"attempts per number per day in {zone}")
        if "CO" in laws and any(
            (p.outcome in CONTACT or p.conversation) and p.at.astimezone(tz).date() == today for p in of_account
        ):
            broken.append(f"Colombia: a second contact the same day in {zone}")
    if not agent_ready and any(p.outcome == RetryOutcome.ABANDONED and at - p.at < timedelta(hours=72)
                               for p in of_number):
        broken.append("abandoned within 72 h")
    if of_number:
        last = max(of_number, key=lambda p: p.at)
        if last.outcome is not None and at - last.at < timedelta(seconds=campaign.retry.delay_for(last.outcome)):
            broken.append(f"retry delay after {last.outcome}")
    return broken


# ---------------------------------------------------------------------------------------------
# The simulation.

T = TypeVar("T")
OUTCOMES: list[RetryOutcome | None] = [None, *RetryOutcome]
DELAYS = [0, 60, 900, 3600, 4 * 3600, 72 * 3600]
STEPS = [timedelta(minutes=m) for m in (1, 5, 14, 40, 119, 9 * 60, 26 * 60)]


@dataclass
class Run:
    picks: int = 0
    batches: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)


def simulate(draw: st.DataObject | random.Random) -> Run:
    """Draw a world and run the hopper over it; ``draw`` is hypothesis' data or a seeded Random."""

    def pick_one(options: Sequence[T], label: str) -> T:
        if isinstance(draw, random.Random):
            return draw.choice(options)
        return draw.draw(st.sampled_from(options), label=label)

    def integer(lo: int, hi: int, label: str) -> int:
        if isinstance(draw, random.Random):
            return draw.randint(lo, hi)
        return draw.draw(st.integers(lo, hi), label=label)

    def chance(p_in_10: int, label: str) -> bool:
        return integer(1, 10, label) <= p_in_10

    start = datetime(2025, 1, 1, tzinfo=ZoneInfo("UTC")) + timedelta(hours=integer(0, 364 * 24, "start hour"))
    open_h = integer(0, 12, "window start")
    campaign = Campaign(
        "prop",
        window=CallingWindow(time(open_h), time(integer(open_h + 1, 23, "window end"), 59)),
        retry=RetryRules(
            delay_seconds={o: pick_one(DELAYS, f"delay {o}") for o in RetryOutcome},
            max_attempts_per_number=integer(1, 12, "max per number"),
            max_attempts_per_number_per_day=integer(1, 4, "max per day"),
        ),
        hopper_order=pick_one(list(HopperOrder), "order"),
    )
    accounts: list[Account] = []
    for i in range(integer(1, 10, "accounts")):
        region = pick_one(["US", "MX", "CO"], "region")
        phones = []
        for k in range(pick_one([0, 1, 1, 2, 2, 3], "phones")):
            shared = [p for other in accounts for p in other.phones]
            if shared and chance(2, "shared number"):  # a family phone on two accounts
                base = pick_one(shared, "shared")
            else:
                base = pick_one(POOL_BY_COUNTRY[region] if chance(8, "home number") else POOL, "number")
            phones.append(Phone(e164=base.e164, type=base.type, time_zones=base.time_zones, position=k + 1,
                                do_not_call=chance(1, "dnc number")))
        accounts.append(Account(
            f"A{i}", f"Deudor {i}", Decimal(integer(1, 10**6, "balance")) / 100, "MXN",
            date(2025, 1, 1) - timedelta(days=integer(1, 120, "due")), 30, phones=tuple(phones),
            region=region, state=pick_one(STATES[region], "state"), do_not_call=chance(1, "dnc account"),
            risk_score=None if chance(2, "no risk") else Decimal(integer(0, 100, "risk")) / 100,
            extra={"score": str(integer(-5, 50, "score"))} if chance(7, "score") else {},
        ))
    numbers = sorted({p.e164 for a in accounts for p in a.phones})
    dnc_numbers = {n for n in numbers if chance(1, "dnc list")}
    history: list[Attempt] = []
    for _ in range(integer(0, 40, "past attempts")):
        a = pick_one(accounts, "past account")
        if not a.phones:
            continue
        outcome = pick_one(OUTCOMES, "past outcome")
        history.append(Attempt(
            pick_one(list(a.phones), "past phone").e164, a.external_ref,
            start - timedelta(minutes=integer(1, 8 * 24 * 60, "past minutes")),
            outcome, conversation=outcome is None and chance(5, "past conversation"),
        ))
    callbacks: list[Callback] = []
    for _ in range(integer(0, 4, "callbacks")):
        a = pick_one(accounts, "callback account")
        due = start + timedelta(minutes=integer(-600, 3 * 24 * 60, "callback due"))
        callbacks.append(Callback(
            a.external_ref, due,
            number=pick_one(list(a.phones), "callback phone").e164 if a.phones and chance(5, "cb number") else None,
            requested_at=due - timedelta(hours=integer(0, 10 * 24, "consent age")) if chance(7, "consent") else None,
        ))

    run = Run()
    hopper = Hopper()
    out: dict[str, str] = {}  # reserved number -> account, as the test sees it
    now = start
    for _ in range(integer(1, 30, "batches")):
        now += pick_one(STEPS, "step")
        agent_ready = chance(3, "agent ready")
        reserved_before = set(hopper.reserved)
        assert reserved_before == set(out)
        batch = hopper.next_batch(accounts, history, callbacks, campaign, now, integer(1, 5, "n"),
                                  agent_ready_now=agent_ready, dnc_numbers=dnc_numbers)
        run.batches += 1
        run.refusals.update(s.refusal.rule for s in batch.skipped)
        batch_numbers = [p.phone.e164 for p in batch.picks]
        batch_accounts = [p.account.external_ref for p in batch.picks]
        if len(set(batch_numbers)) != len(batch_numbers):
            run.violations.append(f"a number twice in one batch: {batch_numbers}")
        if len(set(batch_accounts)) != len(batch_accounts):
            run.violations.append(f"an account twice in one batch: {batch_accounts}")
        for pick in batch.picks:
            number, ref = pick.phone.e164, pick.account.external_ref
            if number in reserved_before:
                run.violations.append(f"{number} handed out while reserved")
            if ref in out.values():
                run.violations.append(f"account {ref} picked while one of its numbers is out")
            broken = oracle_violations(pick, now, history, campaign, agent_ready, dnc_numbers)
            run.violations += [f"{ref} {number} at {now}: {b}" for b in broken]
        for pick in batch.picks:
            outcome = pick_one(OUTCOMES, "outcome")
            history.append(Attempt(pick.phone.e164, pick.account.external_ref, now, outcome,
                                   conversation=outcome is None and chance(5, "conversation")))
            out[pick.phone.e164] = pick.account.external_ref
            run.picks += 1
        for number in sorted(out):
            if chance(6, "call ends"):
                hopper.release(number)
                del out[number]
    return run


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_no_pick_ever_breaks_a_rule(data: st.DataObject) -> None:
    run = simulate(data)
    assert run.violations == []


def test_the_simulation_dials_and_refuses_for_many_reasons() -> None:
    """The property above is not empty: seeded runs make many calls and meet most rules."""
    picks = 0
    rules: Counter[str] = Counter()
    for seed in range(100):
        run = simulate(random.Random(seed))
        assert run.violations == [], (seed, run.violations[:3])
        picks += run.picks
        rules += run.refusals
    assert picks > 150
    expected = {
        "dnc.number", "dnc.account", "window.jurisdiction", "window.campaign", "window.holiday",
        "frequency.max_attempts", "frequency.per_number_day", "frequency.7in7", "frequency.after_conversation",
        "colombia.one_contact_per_day", "abandon.72h", "retry.delay", "hopper.in_flight",
    }
    assert expected <= set(rules), sorted(rules)
