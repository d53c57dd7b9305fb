"""The AMI call tracker (pure): transcripts in, the platform's call events out.

What must hold: each call's events come in a life's order, each kind at most once, nothing
after the end; Q.850 causes map to the platform's words; the platform's own hang-ups decide
the cause; after a reconnect each live call either goes on or ends exactly once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recobro.domain.events import (
    AmdVerdict,
    CallAmd,
    CallBridged,
    CallDialing,
    CallDtmf,
    CallEnded,
    CallEvent,
    HangupCause,
)
from recobro.domain.ids import CallId
from recobro.telephony.ami.calls import CallTracker, Intent, cause_from_q850, channel_id
from recobro.telephony.ami.codec import Message, parse_all

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
HUMAN = CallId("3f2a9c0d1b7e4a55")


def events_of(name: str) -> list[Message]:
    return [m for m in parse_all((FIXTURES / name).read_bytes()) if m.kind.value == "event"]


def run(tracker: CallTracker, messages: list[Message]) -> list[CallEvent]:
    out: list[CallEvent] = []
    for i, message in enumerate(messages):
        out += tracker.feed(message, float(i))
    return out


def kinds(events: list[CallEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def ev(headers: str) -> Message:
    (m,) = parse_all(headers.replace("|", "\r\n").encode() + b"\r\n\r\n", expect_banner=False)
    return m


def test_the_human_call_transcript_is_one_complete_life() -> None:
    tracker = CallTracker()
    tracker.add(HUMAN, "t1-3")
    tracker.connect_requested(HUMAN, "ana")
    got = run(tracker, events_of("handmade-human-call.ami"))
    assert kinds(got) == ["CallDialing", "CallRinging", "CallAnswered", "CallAmd", "CallBridged", "CallEnded"]
    assert {e.call_id for e in got} == {HUMAN}
    dialing, amd, bridged, ended = got[0], got[3], got[4], got[5]
    assert isinstance(dialing, CallDialing) and dialing.channel == "PJSIP/carrier-00000001"
    assert isinstance(amd, CallAmd) and (amd.verdict, amd.cause) == (AmdVerdict.HUMAN, "HUMAN-800-800")
    assert isinstance(bridged, CallBridged) and bridged.agent == "ana"
    assert isinstance(ended, CallEnded) and ended.cause is HangupCause.NORMAL and ended.detail == "16 Normal Clearing"
    assert tracker.get(HUMAN) is None and tracker.was_ours(HUMAN)


def test_events_of_other_channels_and_of_no_call_are_ignored() -> None:
    tracker = CallTracker()
    assert run(tracker, events_of("handmade-human-call.ami")) == []  # nobody registered the call


def test_without_a_connect_request_the_bridge_is_not_an_agent() -> None:
    tracker = CallTracker()
    tracker.add(HUMAN)
    got = run(tracker, events_of("handmade-human-call.ami"))
    assert "CallBridged" not in kinds(got)


@pytest.mark.parametrize(
    ("index", "cause"),
    [(0, HangupCause.BUSY), (1, HangupCause.INVALID), (2, HangupCause.CONGESTION), (3, HangupCause.NO_ANSWER)],
)
def test_failures_transcript_causes(index: int, cause: HangupCause) -> None:
    tracker = CallTracker()
    call_id = CallId(f"00000000000000a{index}")
    tracker.add(call_id, f"t2-{4 + index}")
    got = run(tracker, events_of("handmade-failures.ami"))
    assert kinds(got) == ["CallDialing", "CallEnded"]
    assert isinstance(got[-1], CallEnded) and got[-1].cause is cause


@pytest.mark.parametrize(
    ("code", "answered", "cause"),
    [
        (16, True, HangupCause.NORMAL),
        (17, True, HangupCause.NORMAL),
        (16, False, HangupCause.NO_ANSWER),
        (17, False, HangupCause.BUSY),
        (19, False, HangupCause.NO_ANSWER),
        (21, False, HangupCause.NO_ANSWER),
        (1, False, HangupCause.INVALID),
        (28, False, HangupCause.INVALID),
        (34, False, HangupCause.CONGESTION),
        (38, False, HangupCause.CONGESTION),
        (None, False, HangupCause.NO_ANSWER),
    ],
)
def test_q850_causes(code: int | None, answered: bool, cause: HangupCause) -> None:
    assert cause_from_q850(code, answered=answered) is cause


def snapshot(call_id: str, state: int = 6, chan: str = "PJSIP/carrier-00000007") -> str:
    return f"Channel: {chan}|ChannelState: {state}|Uniqueid: recobro-{call_id}|ChanVariable: RECOBRO_CALL_ID={call_id}"


CALL = CallId("00112233aabbccdd")


def answered_call(tracker: CallTracker, amd: str = "") -> list[CallEvent]:
    tracker.add(CALL, "x-1")
    out = tracker.feed(ev(f"Event: Newchannel|{snapshot(CALL, 0)}"), 1.0)
    out += tracker.feed(ev(f"Event: Newstate|{snapshot(CALL, 5)}"), 2.0)
    out += tracker.feed(ev(f"Event: Newstate|{snapshot(CALL, 6)}"), 3.0)
    if amd:
        out += tracker.feed(
            ev(f"Event: UserEvent|{snapshot(CALL)}|UserEvent: RecobroAmd|CallId: {CALL}|Status: {amd}"), 4.0
        )
    return out


@pytest.mark.parametrize(
    ("intent", "reason", "amd", "cause"),
    [
        (Intent.HANGUP, "agent hung up", "HUMAN", HangupCause.NORMAL),
        (Intent.MACHINE_HANGUP, "machine", "MACHINE", HangupCause.MACHINE),
        (Intent.PLAY, "recobro-abandon", "HUMAN", HangupCause.ABANDONED),
        (Intent.PLAY, "recobro-vm", "MACHINE", HangupCause.MACHINE),
        (Intent.NONE, "", "HUMAN", HangupCause.NORMAL),
        (Intent.NONE, "", "MACHINE", HangupCause.MACHINE),
    ],
)
def test_the_platforms_intent_decides_the_cause(intent: Intent, reason: str, amd: str, cause: HangupCause) -> None:
    tracker = CallTracker()
    answered_call(tracker, amd)
    tracker.mark(CALL, intent, reason)
    (end,) = tracker.feed(ev(f"Event: Hangup|{snapshot(CALL)}|Cause: 16|Cause-txt: Normal Clearing"), 9.0)
    assert isinstance(end, CallEnded) and end.cause is cause


def test_a_hangup_before_the_answer_is_a_cancel_and_the_dialplans_abandon_is_abandoned() -> None:
    tracker = CallTracker()
    tracker.add(CALL)
    tracker.feed(ev(f"Event: Newchannel|{snapshot(CALL, 0)}"), 1.0)
    tracker.mark(CALL, Intent.HANGUP)
    (end,) = tracker.feed(ev(f"Event: Hangup|{snapshot(CALL, 5)}|Cause: 16"), 2.0)
    assert isinstance(end, CallEnded) and end.cause is HangupCause.CANCELLED
    tracker = CallTracker()
    answered_call(tracker, "HUMAN")
    tracker.feed(ev(f"Event: UserEvent|{snapshot(CALL)}|UserEvent: RecobroHoldTimeout|CallId: {CALL}"), 5.0)
    (end,) = tracker.feed(ev(f"Event: Hangup|{snapshot(CALL)}|Cause: 16"), 6.0)
    assert isinstance(end, CallEnded) and end.cause is HangupCause.ABANDONED and "hold timeout" in end.detail


def test_each_kind_once_and_nothing_after_the_end() -> None:
    tracker = CallTracker()
    got = answered_call(tracker, "HUMAN")
    got += tracker.feed(ev(f"Event: Newstate|{snapshot(CALL, 6)}"), 5.0)  # a repeat
    got += tracker.feed(
        ev(f"Event: UserEvent|{snapshot(CALL)}|UserEvent: RecobroAmd|CallId: {CALL}|Status: MACHINE"), 5
    )
    got += tracker.feed(ev(f"Event: Hangup|{snapshot(CALL)}|Cause: 16"), 6.0)
    got += tracker.feed(ev(f"Event: Hangup|{snapshot(CALL)}|Cause: 16"), 7.0)
    got += tracker.feed(ev(f"Event: Newstate|{snapshot(CALL, 6)}"), 8.0)
    assert kinds(got) == ["CallDialing", "CallRinging", "CallAnswered", "CallAmd", "CallEnded"]


def test_a_late_event_implies_the_skipped_ones() -> None:
    tracker = CallTracker()
    tracker.add(CALL)
    got = tracker.feed(ev(f"Event: UserEvent|{snapshot(CALL)}|UserEvent: RecobroAmd|CallId: {CALL}|Status: NOTSURE"), 1)
    assert kinds(got) == ["CallDialing", "CallAnswered", "CallAmd"]


def test_an_originate_failure_with_no_channel_ends_the_call_from_the_reason() -> None:
    tracker = CallTracker()
    tracker.add(CALL, "x-9")
    got = tracker.feed(ev("Event: OriginateResponse|ActionID: x-9|Response: Failure|Reason: 5|Uniqueid: <null>"), 1)
    assert kinds(got) == ["CallDialing", "CallEnded"]
    assert isinstance(got[-1], CallEnded) and got[-1].cause is HangupCause.BUSY
    # With a channel, the failure waits for the channel's own Hangup (which has the real cause).
    tracker = CallTracker()
    tracker.add(CALL, "x-9")
    tracker.feed(ev(f"Event: Newchannel|{snapshot(CALL, 0)}"), 1)
    assert tracker.feed(ev("Event: OriginateResponse|ActionID: x-9|Response: Failure|Reason: 3"), 2) == []
    (end,) = tracker.feed(ev(f"Event: Hangup|{snapshot(CALL, 5)}|Cause: 19"), 3)
    assert isinstance(end, CallEnded) and end.cause is HangupCause.NO_ANSWER


def test_reconcile_keeps_listed_calls_and_ends_the_others_once() -> None:
    tracker = CallTracker()
    up, gone, never = CallId("0000000000000001"), CallId("0000000000000002"), CallId("0000000000000003")
    for call_id in (up, gone, never):
        tracker.add(call_id)
    tracker.feed(ev(f"Event: Newchannel|{snapshot(gone, 0, 'PJSIP/carrier-2')}"), 1)
    listing = [ev(f"Event: CoreShowChannel|{snapshot(up, 6, 'PJSIP/carrier-1')}|Application: BridgeWait")]
    listing.append(ev("Event: CoreShowChannel|Channel: PJSIP/agent-1|Uniqueid: 1764146300.9|ChannelState: 6"))
    result = tracker.reconcile(listing, 5.0)
    by_call: dict[CallId, list[str]] = {}
    for event in result.events:
        by_call.setdefault(event.call_id, []).append(type(event).__name__)
    assert by_call == {
        up: ["CallDialing", "CallAnswered"],
        gone: ["CallEnded"],
        never: ["CallDialing", "CallEnded"],
    }
    ends = {e.call_id: e.cause for e in result.events if isinstance(e, CallEnded)}
    assert ends == {gone: HangupCause.PBX_LOST, never: HangupCause.FAILED}
    assert result.strays == []
    # A second reconciliation (another reconnect) changes nothing and ends nothing twice.
    again = tracker.reconcile(listing, 6.0)
    assert again.events == [] and again.strays == []
    # A channel of a call that already ended here is a stray to hang up.
    strays = tracker.reconcile([ev(f"Event: CoreShowChannel|{snapshot(gone, 6, 'PJSIP/carrier-2')}")], 7.0)
    assert strays.strays == ["PJSIP/carrier-2"]
    assert channel_id(up) == "recobro-0000000000000001"


def test_the_recorded_session_of_the_real_asterisk_gives_each_call_its_cause() -> None:
    """tests/fixtures/ami/recorded-session.ami: three Originates to sipp phones on Asterisk 22
    (answers and is hung up by the platform, 486 busy, 404 not found)."""
    messages = events_of("recorded-session.ami")
    tracker = CallTracker()
    calls = [CallId(f"{i:016x}") for i in (1, 2, 3)]
    for i, call_id in enumerate(calls):
        tracker.add(call_id, f"r-o{i}")
    tracker.mark(calls[0], Intent.HANGUP, "recorded")
    got = run(tracker, messages)
    per_call = {c: [type(e).__name__ for e in got if e.call_id == c] for c in calls}
    assert per_call == {
        calls[0]: ["CallDialing", "CallRinging", "CallAnswered", "CallEnded"],
        calls[1]: ["CallDialing", "CallEnded"],
        calls[2]: ["CallDialing", "CallEnded"],
    }
    causes = [e.cause for e in got if isinstance(e, CallEnded)]
    assert sorted(causes) == sorted([HangupCause.NORMAL, HangupCause.BUSY, HangupCause.INVALID])
    ends = {e.call_id: e for e in got if isinstance(e, CallEnded)}
    assert ends[calls[1]].detail == "17 User busy"
    assert ends[calls[2]].detail == "1 Unallocated (unassigned) number"
    assert any(m.is_event("BridgeEnter") for m in messages)  # into recobro-holding...
    assert "CallBridged" not in kinds(got)  # ...which is not an agent's bridge


def test_a_person_the_agents_bridge_refused_is_abandoned_not_a_normal_end() -> None:
    """The agent's ConfBridge holds two (agent + one person): a second person redirected there
    comes straight back out of ConfBridge and the dialplan hangs up."""
    tracker = CallTracker()
    answered_call(tracker, "HUMAN")
    tracker.connect_requested(CALL, "1001")
    for line in (
        f"UserEvent: RecobroConnect|CallId: {CALL}|AgentId: 1001",
        f"UserEvent: RecobroConnectEnded|CallId: {CALL}|AgentId: 1001|Result: FAILED",
    ):
        assert tracker.feed(ev(f"Event: UserEvent|{snapshot(CALL)}|{line}"), 5.0) == []
    (end,) = tracker.feed(ev(f"Event: Hangup|{snapshot(CALL)}|Cause: 16|Cause-txt: Normal Clearing"), 6.0)
    assert isinstance(end, CallEnded) and end.cause is HangupCause.ABANDONED
    assert "could not join agent 1001's bridge (FAILED)" in end.detail


def test_a_person_who_was_bridged_and_left_ends_normally() -> None:
    tracker = CallTracker()
    answered_call(tracker, "HUMAN")
    tracker.connect_requested(CALL, "1001")
    bridge = "Event: BridgeEnter|BridgeCreator: ConfBridge|BridgeName: recobro-agent-1001"
    (bridged,) = tracker.feed(ev(f"{bridge}|{snapshot(CALL)}"), 5.0)
    assert isinstance(bridged, CallBridged) and bridged.agent == "1001"
    tracker.feed(
        ev(f"Event: UserEvent|{snapshot(CALL)}|UserEvent: RecobroConnectEnded|CallId: {CALL}|Result: HANGUP"), 6
    )
    (end,) = tracker.feed(ev(f"Event: Hangup|{snapshot(CALL)}|Cause: 16"), 7.0)
    assert isinstance(end, CallEnded) and end.cause is HangupCause.NORMAL


def test_dtmf_received_on_an_answered_call_becomes_a_digit() -> None:
    tracker = CallTracker()
    tracker.add(CALL)
    dtmf = f"Event: DTMFEnd|{snapshot(CALL)}|Digit: 5|DurationMs: 120|Direction: Received"
    assert tracker.feed(ev(dtmf), 1.0) == []  # not answered yet: nothing to report
    answered_call_events = tracker.feed(ev(f"Event: Newstate|{snapshot(CALL, 6)}"), 2.0)
    assert kinds(answered_call_events) == ["CallDialing", "CallAnswered"]
    (digit,) = tracker.feed(ev(dtmf), 3.0)
    assert isinstance(digit, CallDtmf) and digit.digit == "5"
    assert tracker.feed(ev(dtmf.replace("Received", "Sent")), 4.0) == []  # what we played is not the person
