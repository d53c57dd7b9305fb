"""How often: attempt caps per account and per number, quiet periods, retry delays, 72 h rule.

Every function takes the attempts already made (oldest first) and ``now`` and returns the
refusal of its rule, or None. Time spans are exact (7 days = 7 x 24 h, rolling); "a day" is
the debtor's local calendar day, in each zone the debtor may be in.

An attempt at ``now`` or in the future counts as already made: a clock that runs behind must
never turn into an extra call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from recobro.compliance.history import Attempt
from recobro.compliance.refusals import Refusal, Rule, refuse
from recobro.domain.campaigns import RetryOutcome, RetryRules

WEEK = timedelta(days=7)
ABANDON_QUIET = timedelta(hours=72)
CONSENT_VALID = timedelta(days=7)  # Reg F 1006.14(b)(3)(i): prior consent given within 7 days


def _stamp(t: datetime) -> str:
    return t.isoformat(timespec="minutes")


def _next_midnight(zone: ZoneInfo, now: datetime) -> datetime:
    local = now.astimezone(zone)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone).astimezone(now.tzinfo)


def consent_exempts(consent_at: datetime | None, now: datetime) -> bool:
    """A callback the debtor asked for within the last 7 days is outside Reg F's frequency counts."""
    return consent_at is not None and timedelta(0) <= now - consent_at < CONSENT_VALID


def max_attempts(number_attempts: Sequence[Attempt], retry: RetryRules) -> Refusal | None:
    """The campaign's lifetime cap of attempts on one number."""
    cap = retry.max_attempts_per_number
    if len(number_attempts) >= cap:
        return refuse(
            Rule.MAX_ATTEMPTS,
            f"el número ya tiene {len(number_attempts)} intentos; el máximo de la campaña es {cap}",
            f"the number already has {len(number_attempts)} attempts; the campaign allows {cap}",
        )
    return None


def per_number_day(
    number_attempts: Sequence[Attempt], zones: Sequence[str], now: datetime, retry: RetryRules
) -> Refusal | None:
    """The campaign's cap of attempts on one number in one local day (in every zone)."""
    cap = retry.max_attempts_per_number_per_day
    if not number_attempts:
        return None
    for zone in zones:
        tz = ZoneInfo(zone)
        today = now.astimezone(tz).date()
        count = sum(1 for a in number_attempts if a.at.astimezone(tz).date() == today)
        if count >= cap:
            return refuse(
                Rule.PER_NUMBER_DAY,
                f"el número ya tiene {count} intentos hoy ({zone}); el máximo por día es {cap}",
                f"the number already has {count} attempts today ({zone}); the daily cap is {cap}",
                until=_next_midnight(tz, now),
            )
    return None


def after_conversation(account_attempts: Sequence[Attempt], now: datetime, quiet_days: int) -> Refusal | None:
    """No call within ``quiet_days`` after a conversation about the debt (Reg F 1006.14(b)(2)(i)(B))."""
    quiet = timedelta(days=quiet_days)
    last = max((a.at for a in account_attempts if a.conversation and a.at > now - quiet), default=None)
    if last is None:
        return None
    return refuse(
        Rule.AFTER_CONVERSATION,
        f"hubo una conversación con el deudor el {_stamp(last)}; no se llama en {quiet_days} días",
        f"there was a conversation with the debtor at {_stamp(last)}; no calls for {quiet_days} days",
        until=last + quiet,
    )


def seven_in_seven(account_attempts: Sequence[Attempt], now: datetime, cap: int) -> Refusal | None:
    """At most ``cap`` attempts per account in any 7 consecutive days (Reg F 1006.14(b)(2)(i)(A))."""
    recent = sorted(a.at for a in account_attempts if a.at > now - WEEK)
    if len(recent) < cap:
        return None
    return refuse(
        Rule.SEVEN_IN_SEVEN,
        f"la cuenta ya tiene {len(recent)} intentos en los últimos 7 días; el máximo es {cap}",
        f"the account already has {len(recent)} attempts in the last 7 days; the cap is {cap}",
        until=recent[len(recent) - cap] + WEEK,
    )


def contacts_per_day(
    account_attempts: Sequence[Attempt], zones: Sequence[str], now: datetime, cap: int, rule: Rule
) -> Refusal | None:
    """At most ``cap`` contacts with the debtor in one local day (Colombia, Ley 2300 de 2023).

    A contact is an attempt that reached the line: answered by a person or by a machine that
    may take a message; unanswered, busy and failed attempts are not contacts.
    """
    for zone in zones:
        tz = ZoneInfo(zone)
        today = now.astimezone(tz).date()
        count = sum(1 for a in account_attempts if a.reached_line and a.at.astimezone(tz).date() == today)
        if count >= cap:
            return refuse(
                rule,
                f"el deudor ya fue contactado {count} vez/veces hoy ({zone}); la ley permite {cap} al día",
                f"the debtor was already contacted {count} time(s) today ({zone}); the law allows {cap} a day",
                until=_next_midnight(tz, now),
            )
    return None


def abandoned_72h(number_attempts: Sequence[Attempt], now: datetime, agent_ready_now: bool) -> Refusal | None:
    """An abandoned number waits 72 h unless an agent will take the call at once."""
    if agent_ready_now:
        return None
    last = max(
        (a.at for a in number_attempts if a.outcome == RetryOutcome.ABANDONED and a.at > now - ABANDON_QUIET),
        default=None,
    )
    if last is None:
        return None
    return refuse(
        Rule.ABANDON_72H,
        f"una llamada a este número se abandonó el {_stamp(last)}; sin agente listo se espera 72 h",
        f"a call to this number was abandoned at {_stamp(last)}; without an agent ready it waits 72 h",
        until=last + ABANDON_QUIET,
    )


def retry_delay(number_attempts: Sequence[Attempt], now: datetime, retry: RetryRules) -> Refusal | None:
    """The campaign's delay after the number's last attempt, by its outcome."""
    if not number_attempts:
        return None
    last = max(number_attempts, key=lambda a: a.at)
    if last.outcome is None:
        return None
    ready = last.at + timedelta(seconds=retry.delay_for(last.outcome))
    if now >= ready:
        return None
    return refuse(
        Rule.RETRY_DELAY,
        f"el último intento ({last.outcome.value}) fue el {_stamp(last.at)}; se reintenta desde {_stamp(ready)}",
        f"the last attempt ({last.outcome.value}) was at {_stamp(last.at)}; retry from {_stamp(ready)}",
        until=ready,
    )
