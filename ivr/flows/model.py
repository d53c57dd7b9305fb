"""What the IVR flows read, the events they are driven by, and the actions they produce.

The flows are pure state machines: ``start()`` and ``handle(event)`` return a list of actions
and touch nothing. The runner (``ivr.flows.runner``) performs the actions over a channel and
the ports; an action that needs an answer (a key press, a lookup, a save) is always the last
of its list, and the runner feeds its answer back as the next event.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from ivr.prompts.catalog import Prompt

# -- what the flows know ---------------------------------------------------------------------


class Credential(enum.StrEnum):
    PIN = "pin"
    NATIONAL_ID = "national_id"  # its last four digits
    NONE = "none"


@dataclass(frozen=True, slots=True)
class DebtorView:
    """The account as the IVR may speak of it, once identity is established."""

    account_id: int
    name: str
    balance: Decimal
    currency: str
    due_date: date
    language: str = "es"
    country: str = "MX"
    skills: tuple[str, ...] = ()
    credential: Credential = Credential.NONE
    external_ref: str = ""


@dataclass(frozen=True, slots=True)
class CampaignView:
    campaign_id: int | None
    company: str
    callback_number: str
    promise_horizon_days: int = 30
    voicemail_message: bool = True
    skills: tuple[str, ...] = ()
    language: str = "es"  # for inbound callers not yet identified


class Outcome(enum.StrEnum):
    """How an IVR call ended (stored as an ``outcome`` ivr event, some also as a disposition)."""

    PROMISE_TO_PAY = "promise_to_pay"
    PAY_LINK_SENT = "pay_link_sent"
    AGENT = "agent"
    CALLBACK_REQUESTED = "callback_requested"
    WRONG_PARTY = "wrong_party"
    NO_INPUT = "no_input"
    INVALID_INPUT = "invalid_input"
    IDENTIFICATION_FAILED = "identification_failed"
    VOICEMAIL_LEFT = "voicemail_left"
    MACHINE_NO_MESSAGE = "machine_no_message"
    COMPLETED = "completed"
    HUNG_UP = "hung_up"  # the caller left before any other outcome


# -- events (answers to the last action) -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Input:
    """Keys typed after a prompt; ``timed_out`` when the caller stopped (or never started)."""

    digits: str
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class Done:
    """A request action finished; ``ok`` says whether it worked."""

    ok: bool


@dataclass(frozen=True, slots=True)
class Identified:
    """The answer to ``Verify``: whether the digits matched, and the terms of the account's campaign."""

    ok: bool
    campaign: CampaignView | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """The answer to a lookup: the account, or None."""

    debtor: DebtorView | None


@dataclass(frozen=True, slots=True)
class AgentsInfo:
    """Whether agents work now, the estimated wait, and when they next open (local time)."""

    open: bool
    wait_seconds: float | None = None
    next_open: datetime | None = None


Event = Input | Done | Found | AgentsInfo | Identified

# -- actions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Collect:
    max_digits: int
    timeout: float = 6.0  # seconds of silence before the first key
    terminator: str = ""  # "#" for entries of varying length


@dataclass(frozen=True, slots=True)
class Say:
    """Play the prompts in order; with ``collect``, then wait for keys (answer: ``Input``)."""

    prompts: tuple[Prompt, ...]
    collect: Collect | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """One ivr event row: ``dtmf`` (masked when it is an identity secret), ``identity``, ``outcome``..."""

    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class SendPayLink:
    """Send the payment link by SMS (answer: ``Done``)."""


@dataclass(frozen=True, slots=True)
class SavePromise:
    """Store the promise to pay, all or nothing (answer: ``Done``)."""

    amount: Decimal
    promised_for: date


@dataclass(frozen=True, slots=True)
class AskAgents:
    """Are agents working, and how long is the wait (answer: ``AgentsInfo``)."""


@dataclass(frozen=True, slots=True)
class Transfer:
    """Hand the caller to the ACD with the account's skills (answer: ``Done``: connected or not)."""

    skills: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SaveCallback:
    """Ask an agent to call back at ``due`` (None: as soon as possible) (answer: ``Done``)."""

    due: datetime | None


@dataclass(frozen=True, slots=True)
class LookupCaller:
    """Find the one account whose phone is the caller's number (answer: ``Found``)."""


@dataclass(frozen=True, slots=True)
class LookupAccount:
    """Find an account by the number the caller typed (answer: ``Found``)."""

    reference: str


@dataclass(frozen=True, slots=True)
class Verify:
    """Check the typed PIN or ID digits against the account (answer: ``Identified``)."""

    account_id: int
    credential: Credential
    digits: str


@dataclass(frozen=True, slots=True)
class Finish:
    """The call's outcome; the runner stores it (and its disposition) then hangs up."""

    outcome: Outcome
    hang_up: bool = True


Action = (
    Say | Record | SendPayLink | SavePromise | AskAgents | Transfer | SaveCallback | LookupCaller | LookupAccount
    | Verify | Finish
)  # fmt: skip

ASKING = (Say, SendPayLink, SavePromise, AskAgents, Transfer, SaveCallback, LookupCaller, LookupAccount, Verify)


def needs_answer(action: Action) -> bool:
    """True when the runner must feed an event back after performing ``action``."""
    if isinstance(action, Say):
        return action.collect is not None
    return isinstance(action, ASKING)


def mask(digits: str) -> str:
    """Identity digits as they may be stored: the count only."""
    return "*" * len(digits)
