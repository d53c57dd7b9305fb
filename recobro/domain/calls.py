"""The call state machine.

Theory of operation: one outbound attempt goes through a fixed set of states; the telephony
port reports events, and ``advance`` moves the call along the table below or refuses. The
table is the whole truth: a transition it does not list is an ``InvalidTransition`` that
changes nothing. Terminal state ``ENDED`` carries an ``Outcome`` decided from the path the
call took (answered or not, AMD verdict, bridged or not) and the hang-up cause.

    QUEUED ─dial─► DIALING ─ring─► RINGING ─answer─► ANSWERED ─amd─► HUMAN ─bridge─► CONNECTED
                                                   │           └─► MACHINE
                                                   └─(no AMD)─► HUMAN
    any non-terminal ─end─► ENDED
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from recobro.domain.errors import InvalidTransition
from recobro.domain.events import (
    AmdVerdict,
    CallAmd,
    CallAnswered,
    CallBridged,
    CallDialing,
    CallEnded,
    CallEvent,
    CallRinging,
    HangupCause,
)
from recobro.domain.ids import CallId


class CallState(enum.StrEnum):
    QUEUED = "queued"
    DIALING = "dialing"
    RINGING = "ringing"
    ANSWERED = "answered"
    HUMAN = "human"
    MACHINE = "machine"
    CONNECTED = "connected"
    ENDED = "ended"


class Outcome(enum.StrEnum):
    CONNECTED = "connected"  # a person talked to an agent (or completed the IVR)
    ABANDONED = "abandoned"  # a person answered and reached nobody in time
    MACHINE = "machine"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    INVALID = "invalid"
    FAILED = "failed"
    IVR = "ivr"  # a person handled by the IVR without an agent


# (state, event kind) -> next state
_TABLE: dict[tuple[CallState, str], CallState] = {
    (CallState.QUEUED, "dialing"): CallState.DIALING,
    (CallState.DIALING, "ringing"): CallState.RINGING,
    (CallState.DIALING, "answered"): CallState.ANSWERED,  # some carriers never send ringing
    (CallState.RINGING, "ringing"): CallState.RINGING,
    (CallState.RINGING, "answered"): CallState.ANSWERED,
    (CallState.ANSWERED, "amd_human"): CallState.HUMAN,
    (CallState.ANSWERED, "amd_notsure"): CallState.HUMAN,  # unsure is treated as a person
    (CallState.ANSWERED, "amd_machine"): CallState.MACHINE,
    (CallState.ANSWERED, "bridged"): CallState.CONNECTED,  # AMD off
    (CallState.HUMAN, "bridged"): CallState.CONNECTED,
    # a machine taken for a person by a campaign without AMD hang-up
    (CallState.MACHINE, "bridged"): CallState.CONNECTED,
}

_TERMINAL = frozenset({CallState.ENDED})


def _kind(event: CallEvent) -> str:
    if isinstance(event, CallDialing):
        return "dialing"
    if isinstance(event, CallRinging):
        return "ringing"
    if isinstance(event, CallAnswered):
        return "answered"
    if isinstance(event, CallAmd):
        return f"amd_{event.verdict.value}"
    if isinstance(event, CallBridged):
        return "bridged"
    if isinstance(event, CallEnded):
        return "ended"
    return type(event).__name__


@dataclass(frozen=True, slots=True)
class Call:
    """One attempt with its lifecycle timestamps (port-clock seconds)."""

    id: CallId
    state: CallState = CallState.QUEUED
    queued_at: float | None = None
    dialed_at: float | None = None
    ringing_at: float | None = None
    answered_at: float | None = None
    amd_at: float | None = None
    amd_verdict: AmdVerdict | None = None
    connected_at: float | None = None
    ended_at: float | None = None
    agent: str | None = None
    cause: HangupCause | None = None
    outcome: Outcome | None = None

    @property
    def is_over(self) -> bool:
        return self.state in _TERMINAL

    @property
    def reached_person(self) -> bool:
        """A person answered, whatever AMD said (the abandonment denominator)."""
        return self.state in (CallState.HUMAN, CallState.CONNECTED) or self.outcome in (
            Outcome.CONNECTED,
            Outcome.ABANDONED,
            Outcome.IVR,
        )


def advance(call: Call, event: CallEvent) -> Call:
    """The call after ``event``, or ``InvalidTransition`` (and the call unchanged)."""
    if event.call_id != call.id:
        raise InvalidTransition(f"event for call {event.call_id} applied to call {call.id}")
    if call.is_over:
        raise InvalidTransition(f"call {call.id} is over; {_kind(event)} refused")
    if isinstance(event, CallEnded):
        return replace(
            call,
            state=CallState.ENDED,
            ended_at=event.at,
            cause=event.cause,
            outcome=outcome_of(call, event.cause),
        )
    kind = _kind(event)
    nxt = _TABLE.get((call.state, kind))
    if nxt is None:
        raise InvalidTransition(f"call {call.id}: {kind} not allowed in state {call.state.value}")
    if isinstance(event, CallDialing):
        return replace(call, state=nxt, dialed_at=event.at)
    if isinstance(event, CallRinging):
        return replace(call, state=nxt, ringing_at=call.ringing_at or event.at)
    if isinstance(event, CallAnswered):
        return replace(call, state=nxt, answered_at=event.at)
    if isinstance(event, CallAmd):
        return replace(call, state=nxt, amd_at=event.at, amd_verdict=event.verdict)
    if isinstance(event, CallBridged):
        return replace(call, state=nxt, connected_at=event.at, agent=event.agent)
    raise InvalidTransition(f"call {call.id}: unknown event {kind}")  # pragma: no cover


def outcome_of(call: Call, cause: HangupCause) -> Outcome:
    """The outcome of a call that ends now in its current state with ``cause``."""
    state = call.state
    if state == CallState.CONNECTED:
        return Outcome.CONNECTED
    if state == CallState.MACHINE:
        return Outcome.MACHINE
    if state in (CallState.HUMAN, CallState.ANSWERED):
        # A person answered and was never connected: abandoned by definition, whether the
        # platform hung up (no agent in time, AMD false positive) or the person did.
        if cause == HangupCause.MACHINE:
            return Outcome.ABANDONED if state == CallState.HUMAN else Outcome.MACHINE
        return Outcome.ABANDONED
    mapping = {
        HangupCause.BUSY: Outcome.BUSY,
        HangupCause.INVALID: Outcome.INVALID,
        HangupCause.CONGESTION: Outcome.FAILED,
        HangupCause.FAILED: Outcome.FAILED,
        HangupCause.PBX_LOST: Outcome.FAILED,
    }
    return mapping.get(cause, Outcome.NO_ANSWER)
