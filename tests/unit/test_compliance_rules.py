"""check_dial: every rule refuses by name, with hand-picked histories around each limit.

The moment is a Tuesday noon, inside every window, so that only the rule under test can refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from recobro.compliance import rules
from recobro.compliance.history import Attempt
from recobro.compliance.jurisdictions import Jurisdiction
from recobro.compliance.refusals import Rule
from recobro.compliance.rules import DialChecker, all_refusals, check_dial, next_allowed_at
from recobro.domain.accounts import Account, Phone
from recobro.domain.campaigns import CallingWindow, Campaign, RetryOutcome, RetryRules
from recobro.domain.errors import ValidationError

PHX = ZoneInfo("America/Phoenix")
BOG = ZoneInfo("America/Bogota")
NOW = datetime(2025, 7, 8, 12, 0, tzinfo=PHX)  # Tuesday
CO_NOW = datetime(2025, 7, 8, 12, 0, tzinfo=BOG)
H = timedelta(hours=1)
D = timedelta(days=1)

NUMBER = "+16025550123"
OTHERS = tuple(f"+160255501{i:02d}" for i in range(10))  # the account's other numbers
CO_NUMBER = "+573211234567"

WIDE = Campaign("wide", window=CallingWindow(time(0, 0), time(23, 59)))
# A campaign that retries abandoned calls after one hour, so the 72 h rule is what is tested.
QUICK_ABANDON = Campaign(
    "quick",
    window=CallingWindow(time(0, 0), time(23, 59)),
    retry=RetryRules(delay_seconds={RetryOutcome.ABANDONED: 3600}),
)


def ph(number: str = NUMBER, *, dnc: bool = False) -> Phone:
    zone = "America/Bogota" if number.startswith("+57") else "America/Phoenix"
    return Phone(e164=number, time_zones=(zone,), do_not_call=dnc)


def acct(region: str = "US", *, ref: str = "A1", dnc: bool = False) -> Account:
    return Account(ref, "Ana", Decimal("500"), "USD", date(2025, 1, 1), 30, region=region, do_not_call=dnc)


def att(
    ago: timedelta,
    outcome: RetryOutcome | None = RetryOutcome.NO_ANSWER,
    *,
    number: str = NUMBER,
    conversation: bool = False,
    ref: str = "A1",
    now: datetime = NOW,
) -> Attempt:
    return Attempt(number=number, account_ref=ref, at=now - ago, outcome=outcome, conversation=conversation)


def spread(count: int, first_ago: timedelta, step: timedelta) -> list[Attempt]:
    """``count`` no-answer attempts on the account's other numbers, oldest ``first_ago`` ago."""
    return [att(first_ago - i * step, number=OTHERS[i]) for i in range(count)]


CASES: list[tuple[str, Account, Phone, Campaign, Sequence[Attempt], bool, str | None]] = [
    ("clean", acct(), ph(), WIDE, [], False, None),
    # do not call
    ("dnc account flag", acct(dnc=True), ph(), WIDE, [], False, Rule.DNC_ACCOUNT),
    ("dnc number flag", acct(), ph(dnc=True), WIDE, [], False, Rule.DNC_NUMBER),
    # 7 in 7 (rolling 7 x 24 h, per account, any number)
    ("6 in 7 days", acct(), ph(), WIDE, spread(6, 6 * D, D), False, None),
    ("7 in 7 days: the 8th refused", acct(), ph(), WIDE, spread(7, 6 * D + 23 * H, 23 * H), False,
     Rule.SEVEN_IN_SEVEN),
    ("7 but the oldest exactly 7 days ago", acct(), ph(), WIDE, spread(7, 7 * D, 23 * H), False, None),
    ("7 in 7 days on another account", acct(ref="B2"), ph(OTHERS[9]), WIDE, spread(7, 6 * D, 12 * H), False, None),
    # 7 days after a conversation
    ("conversation 6 days ago", acct(), ph(), WIDE, [att(6 * D, None, number=OTHERS[0], conversation=True)], False,
     Rule.AFTER_CONVERSATION),
    ("conversation 6 d 23 h ago", acct(), ph(), WIDE,
     [att(6 * D + 23 * H, None, number=OTHERS[0], conversation=True)], False, Rule.AFTER_CONVERSATION),
    ("conversation 7 days ago", acct(), ph(), WIDE, [att(7 * D, None, number=OTHERS[0], conversation=True)], False,
     None),
    ("answered, no conversation", acct(), ph(), WIDE, [att(1 * D, None)], False, None),
    # 72 h after an abandoned call
    ("abandoned 71 h ago", acct(), ph(), QUICK_ABANDON, [att(71 * H, RetryOutcome.ABANDONED)], False,
     Rule.ABANDON_72H),
    ("abandoned 71 h ago, agent ready", acct(), ph(), QUICK_ABANDON, [att(71 * H, RetryOutcome.ABANDONED)], True,
     None),
    ("abandoned 72 h ago", acct(), ph(), QUICK_ABANDON, [att(72 * H, RetryOutcome.ABANDONED)], False, None),
    ("abandoned on another number", acct(), ph(), QUICK_ABANDON,
     [att(1 * H, RetryOutcome.ABANDONED, number=OTHERS[0])], False, None),
    # the campaign's own retry delay still applies when an agent is ready
    ("abandoned 71 h, agent ready, 72 h campaign delay", acct(), ph(), WIDE, [att(71 * H, RetryOutcome.ABANDONED)],
     True, Rule.RETRY_DELAY),
    # retry delays by outcome (defaults: busy 15 min, no answer 2 h, machine 4 h, failed 24 h)
    ("busy 10 min ago", acct(), ph(), WIDE, [att(timedelta(minutes=10), RetryOutcome.BUSY)], False,
     Rule.RETRY_DELAY),
    ("busy 15 min ago", acct(), ph(), WIDE, [att(timedelta(minutes=15), RetryOutcome.BUSY)], False, None),
    ("no answer 1 h ago", acct(), ph(), WIDE, [att(1 * H, RetryOutcome.NO_ANSWER)], False, Rule.RETRY_DELAY),
    ("no answer 2 h ago", acct(), ph(), WIDE, [att(2 * H, RetryOutcome.NO_ANSWER)], False, None),
    ("machine 3 h ago", acct(), ph(), WIDE, [att(3 * H, RetryOutcome.MACHINE)], False, Rule.RETRY_DELAY),
    ("failed 23 h ago", acct(), ph(), WIDE, [att(23 * H, RetryOutcome.FAILED)], False, Rule.RETRY_DELAY),
    ("failed 25 h ago", acct(), ph(), WIDE, [att(25 * H, RetryOutcome.FAILED)], False, None),
    ("only the last attempt's outcome counts", acct(), ph(), WIDE,
     [att(23 * H, RetryOutcome.FAILED), att(3 * H, RetryOutcome.BUSY)], False, None),
    # caps per number
    ("10 attempts on the number", acct(), ph(), WIDE, [att(i * 3 * D + 3 * H) for i in range(10)], False,
     Rule.MAX_ATTEMPTS),
    ("9 attempts on the number", acct(), ph(), WIDE, [att(i * 3 * D + 3 * H) for i in range(9)], False, None),
    ("3 today on the number", acct(), ph(), WIDE, [att(h * H) for h in (3, 4, 5)], False, Rule.PER_NUMBER_DAY),
    ("2 today on the number", acct(), ph(), WIDE, [att(h * H) for h in (3, 4)], False, None),
    # 23:00-23:59 Phoenix yesterday is 06:00-06:59 UTC today: still yesterday for the debtor
    ("3 yesterday evening local", acct(), ph(), WIDE, [att(13 * H - m * timedelta(minutes=20)) for m in range(3)],
     False, None),
    # Colombia: one contact a day
    ("CO machine this morning", acct("CO"), ph(CO_NUMBER), WIDE,
     [att(5 * H, RetryOutcome.MACHINE, number="+573001112233", now=CO_NOW)], False, Rule.COLOMBIA_ONE_CONTACT),
    ("CO answered this morning", acct("CO"), ph(CO_NUMBER), WIDE,
     [att(5 * H, None, number="+573001112233", now=CO_NOW)], False, Rule.COLOMBIA_ONE_CONTACT),
    ("CO no answer this morning", acct("CO"), ph(CO_NUMBER), WIDE,
     [att(5 * H, RetryOutcome.NO_ANSWER, number="+573001112233", now=CO_NOW)], False, None),
    ("CO busy this morning", acct("CO"), ph(CO_NUMBER), WIDE,
     [att(5 * H, RetryOutcome.BUSY, number="+573001112233", now=CO_NOW)], False, None),
    ("CO machine yesterday", acct("CO"), ph(CO_NUMBER), WIDE,
     [att(1 * D, RetryOutcome.MACHINE, number="+573001112233", now=CO_NOW)], False, None),
    ("US machine this morning", acct(), ph(), WIDE, [att(5 * H, RetryOutcome.MACHINE, number=OTHERS[0])], False,
     None),
    # no rules for the country
    ("Canadian account", acct("CA"), ph(), WIDE, [], False, Rule.JURISDICTION_UNKNOWN),
]


@pytest.mark.parametrize(
    ("label", "account", "phone", "campaign", "history", "agent_ready", "rule"), CASES, ids=[c[0] for c in CASES]
)
def test_rule(
    label: str,
    account: Account,
    phone: Phone,
    campaign: Campaign,
    history: Sequence[Attempt],
    agent_ready: bool,
    rule: str | None,
) -> None:
    now = CO_NOW if account.region == "CO" else NOW
    refusal = check_dial(account, phone, campaign, history, now, agent_ready)
    assert (refusal.rule if refusal else None) == rule, refusal


def test_dnc_lists_passed_in() -> None:
    assert check_dial(acct(), ph(), WIDE, [], NOW, dnc_numbers={NUMBER}) == check_dial(
        acct(), ph(dnc=True), WIDE, [], NOW
    )
    refusal = check_dial(acct(), ph(), WIDE, [], NOW, dnc_accounts=frozenset({"A1"}))
    assert refusal is not None and refusal.rule == Rule.DNC_ACCOUNT
    assert check_dial(acct(), ph(), WIDE, [], NOW, dnc_numbers={OTHERS[0]}, dnc_accounts={"B2"}) is None


def test_every_rule_has_a_case_and_a_bilingual_reason() -> None:
    seen: set[str] = set()
    for _, account, phone, campaign, history, agent_ready, _rule in CASES:
        now = CO_NOW if account.region == "CO" else NOW
        for refusal in all_refusals(account, phone, campaign, history, now, agent_ready):
            seen.add(refusal.rule)
            es, sep, en = refusal.reason.partition(" / ")
            assert sep and es.strip() and en.strip(), refusal
    law_and_campaign = {r.value for r in Rule if not r.value.startswith("hopper.")}
    # windows and the unknown zone are covered in test_compliance_windows / below
    assert law_and_campaign - seen == {
        Rule.WINDOW_CAMPAIGN, Rule.WINDOW_HOLIDAY, Rule.WINDOW_JURISDICTION, Rule.ZONE_UNKNOWN,
    }


def test_all_refusals_lists_every_rule_that_refuses() -> None:
    history = [
        att(1 * D, None, conversation=True, number=OTHERS[0]),
        *spread(7, 6 * D, 12 * H)[1:],
        att(10 * timedelta(minutes=1), RetryOutcome.BUSY),
    ]
    found = [r.rule for r in all_refusals(acct(dnc=True), ph(dnc=True), WIDE, history, NOW)]
    assert found == [
        Rule.DNC_ACCOUNT, Rule.DNC_NUMBER, Rule.AFTER_CONVERSATION, Rule.SEVEN_IN_SEVEN, Rule.RETRY_DELAY,
    ]


def test_unknown_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A jurisdiction without zone data and a number phonenumbers cannot place: refused, named."""
    row = Jurisdiction("ZZ", "Zeta", "Zeta", "+999", "none", ((time(0, 0), time(23, 59)),) * 7)
    monkeypatch.setattr(rules, "jurisdictions_for", lambda country, number: (row,))
    refusal = check_dial(acct(), Phone(e164="+9991234567"), WIDE, [], NOW)
    assert refusal is not None and refusal.rule == Rule.ZONE_UNKNOWN
    assert next_allowed_at(acct(), Phone(e164="+9991234567"), WIDE, [], NOW) is None


@pytest.mark.parametrize(
    ("consent_ago", "rule"),
    [
        (1 * D, None),  # the debtor asked for this call yesterday: outside the 7-in-7 and quiet counts
        (8 * D, Rule.AFTER_CONVERSATION),  # consent older than 7 days does not exempt
    ],
)
def test_callback_consent_exempts_reg_f_counts(consent_ago: timedelta, rule: str | None) -> None:
    history = [att(1 * D, None, conversation=True, number=OTHERS[0]), *spread(7, 6 * D, 12 * H)]
    refusal = check_dial(acct(), ph(), WIDE, history, NOW, consent_at=NOW - consent_ago)
    assert (refusal.rule if refusal else None) == rule


def test_consent_does_not_lift_the_window_nor_dnc() -> None:
    late = datetime(2025, 7, 8, 21, 30, tzinfo=PHX)
    refusal = check_dial(acct(), ph(), WIDE, [], late, consent_at=late - H)
    assert refusal is not None and refusal.rule == Rule.WINDOW_JURISDICTION
    refusal = check_dial(acct(), ph(dnc=True), WIDE, [], NOW, consent_at=NOW - H)
    assert refusal is not None and refusal.rule == Rule.DNC_NUMBER


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        # the 8th: when the oldest of the last seven leaves the rolling week
        (spread(7, 6 * D, 12 * H), NOW + D),
        # a conversation 2 days ago: 5 days on; 12:00 is inside the window
        ([att(2 * D, None, conversation=True, number=OTHERS[0])], NOW + 5 * D),
        # abandoned 71 h ago: one hour on (with QUICK_ABANDON the retry delay is 1 h)
        ([att(71 * H, RetryOutcome.ABANDONED)], NOW + H),
        # 3 today: tomorrow 08:00 local (midnight, then the window)
        ([att(h * H) for h in (3, 4, 5)], datetime(2025, 7, 9, 8, 0, tzinfo=PHX)),
        # attempts exhausted: never
        ([att(i * 3 * D + 3 * H) for i in range(10)], None),
    ],
)
def test_next_allowed_at(history: list[Attempt], expected: datetime | None) -> None:
    at = next_allowed_at(acct(), ph(), QUICK_ABANDON, history, NOW)
    assert at == expected
    if at is not None:
        assert check_dial(acct(), ph(), QUICK_ABANDON, history, at) is None
        assert check_dial(acct(), ph(), QUICK_ABANDON, history, at - timedelta(seconds=1)) is not None


def test_next_allowed_at_for_a_dnc_number_is_never() -> None:
    assert next_allowed_at(acct(), ph(dnc=True), WIDE, [], NOW) is None


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValidationError):
        check_dial(acct(), ph(), WIDE, [], datetime(2025, 7, 8, 12, 0))


def test_naive_attempt_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        Attempt(NUMBER, "A1", datetime(2025, 7, 8, 12, 0), RetryOutcome.BUSY)


def test_checker_reuse_gives_the_same_answers() -> None:
    history = [att(1 * H, RetryOutcome.NO_ANSWER, number=OTHERS[1]), *spread(3, 3 * D, D)]
    checker = DialChecker(WIDE, history, NOW)
    for number in (NUMBER, *OTHERS):
        assert checker.check(acct(), ph(number)) == check_dial(acct(), ph(number), WIDE, history, NOW)
