"""The call state machine: the table allows what it lists and refuses the rest unchanged."""

from __future__ import annotations

import pytest

from recobro.domain.calls import Call, CallState, Outcome, advance
from recobro.domain.errors import InvalidTransition
from recobro.domain.events import (
    AmdVerdict,
    CallAmd,
    CallAnswered,
    CallBridged,
    CallDialing,
    CallEnded,
    CallRinging,
    HangupCause,
)
from recobro.domain.ids import CallId

CID = CallId("0123456789abcdef")


def run(*events: object) -> Call:
    call = Call(CID, queued_at=0.0)
    for ev in events:
        call = advance(call, ev)  # type: ignore[arg-type]
    return call


def test_person_connected_to_agent() -> None:
    call = run(
        CallDialing(CID, 1.0),
        CallRinging(CID, 2.0),
        CallAnswered(CID, 9.0),
        CallAmd(CID, 11.0, verdict=AmdVerdict.HUMAN),
        CallBridged(CID, 11.2, agent="ana"),
        CallEnded(CID, 150.0, cause=HangupCause.NORMAL),
    )
    assert call.state == CallState.ENDED
    assert call.outcome == Outcome.CONNECTED
    assert (call.dialed_at, call.ringing_at, call.answered_at, call.amd_at, call.connected_at, call.ended_at) == (
        1.0, 2.0, 9.0, 11.0, 11.2, 150.0,
    )
    assert call.agent == "ana"


@pytest.mark.parametrize(
    ("events", "cause", "outcome"),
    [
        ([], HangupCause.BUSY, Outcome.BUSY),
        ([], HangupCause.INVALID, Outcome.INVALID),
        ([CallRinging(CID, 2.0)], HangupCause.NO_ANSWER, Outcome.NO_ANSWER),
        ([CallRinging(CID, 2.0), CallAnswered(CID, 5.0), CallAmd(CID, 7.0, verdict=AmdVerdict.MACHINE)],
         HangupCause.MACHINE, Outcome.MACHINE),
        ([CallRinging(CID, 2.0), CallAnswered(CID, 5.0), CallAmd(CID, 7.0, verdict=AmdVerdict.HUMAN)],
         HangupCause.ABANDONED, Outcome.ABANDONED),
        ([CallAnswered(CID, 5.0)], HangupCause.NORMAL, Outcome.ABANDONED),
    ],
)
def test_outcomes(events: list[object], cause: HangupCause, outcome: Outcome) -> None:
    call = run(CallDialing(CID, 1.0), *events, CallEnded(CID, 30.0, cause=cause))
    assert call.outcome == outcome


def test_refused_transition_changes_nothing() -> None:
    call = run(CallDialing(CID, 1.0))
    with pytest.raises(InvalidTransition, match="bridged not allowed in state dialing"):
        advance(call, CallBridged(CID, 2.0, agent="x"))
    assert call.state == CallState.DIALING


def test_nothing_after_the_end() -> None:
    call = run(CallDialing(CID, 1.0), CallEnded(CID, 2.0, cause=HangupCause.BUSY))
    with pytest.raises(InvalidTransition, match="is over"):
        advance(call, CallAnswered(CID, 3.0))


def test_event_for_another_call_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        advance(Call(CID), CallDialing(CallId("ffffffffffffffff"), 1.0))
