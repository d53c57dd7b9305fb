"""The TelephonyPort contract: what every adapter must do, whatever PBX is behind it.

The suite talks to the port only through the protocol (originate, hangup, connect_to_agent,
play_and_hangup, events, close). Each adapter joins through a harness that opens a port where
a call to ``harness.number(outcome)`` has that outcome: the simulated PBX builds a scenario
where the outcome has rate 1.0; the Asterisk adapter will route numbers to sipp phones that
behave so. Adding an adapter is one entry in ``HARNESSES``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import pytest

from recobro.domain.errors import NotFound, ValidationError
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
from recobro.domain.ids import CallId, new_call_id
from recobro.telephony.clock import LoopClock
from recobro.telephony.port import OriginateRequest, TelephonyPort
from recobro.telephony.sim.pbx import SimulatedPbx
from recobro.telephony.sim.scenario import scenario_from_dict

OUTCOMES = ("human", "machine", "busy", "invalid", "no_answer", "mixed")
RING_TIMEOUT = 10.0  # seconds the dialer lets a call ring in these tests
WAIT = 3.0  # real seconds any expected event may take to arrive


class Harness(Protocol):
    """How the suite reaches one adapter."""

    agent: str  # an agent (leg) the port can bridge calls with

    def number(self, outcome: str, index: int = 0) -> str: ...

    def open(self, outcome: str) -> AbstractAsyncContextManager[TelephonyPort]: ...


class SimHarness:
    """The simulated PBX on the loop clock, 50 times faster than real time."""

    agent = "agent-ana"

    def number(self, outcome: str, index: int = 0) -> str:
        return f"+5255{OUTCOMES.index(outcome)}{index:07d}"

    @asynccontextmanager
    async def open(self, outcome: str) -> AsyncIterator[TelephonyPort]:
        rates = {
            "human": {"human_answer_rate": 1.0},
            "machine": {"machine_rate": 1.0},
            "busy": {"busy_rate": 1.0},
            "invalid": {"invalid_rate": 1.0},
            "no_answer": {"human_answer_rate": 0.0},
            "mixed": {"human_answer_rate": 0.3, "machine_rate": 0.3, "busy_rate": 0.1, "invalid_rate": 0.1},
        }[outcome]
        scenario = scenario_from_dict(
            {
                "run": {"seed": 11, "hours": 1.0},
                "agents": {"count": 2, "talk_seconds": 30, "wrap_seconds": 5},
                "numbers": {
                    "count": 100,
                    "human_answer_rate": 0.0,
                    "ring_seconds": {"dist": "uniform", "low": 1, "high": 4},
                    **rates,
                },
                "amd": {"enabled": True, "analysis_seconds": 2},
            },
            f"contract-{outcome}",
        )
        port = SimulatedPbx(scenario, LoopClock(), speed=50)
        try:
            yield port
        finally:
            await port.close()


HARNESSES: list[tuple[str, Callable[[], Harness]]] = [
    ("sim", SimHarness),
    # asterisk: this whole suite runs on the real Asterisk in tests/e2e/test_ami_contract.py
    # (AsteriskHarness in tests/e2e/ami_phones.py needs the e2e session fixtures: sandbox, phones),
    # and on a fake Asterisk speaking AMI in tests/unit/test_ami_adapter.py.
]


@pytest.fixture(params=[factory for _, factory in HARNESSES], ids=[name for name, _ in HARNESSES])
def harness(request: pytest.FixtureRequest) -> Harness:
    factory: Callable[[], Harness] = request.param
    return factory()


# --- helpers ------------------------------------------------------------------------------


def request_for(harness: Harness, outcome: str, index: int = 0, **extra: Any) -> OriginateRequest:
    return OriginateRequest(
        call_id=new_call_id(), number=harness.number(outcome, index), ring_timeout=RING_TIMEOUT, **extra
    )


async def next_event(stream: AsyncIterator[CallEvent]) -> CallEvent:
    return await asyncio.wait_for(anext(stream), WAIT)


async def until(stream: AsyncIterator[CallEvent], kind: type[CallEvent], call_id: CallId) -> list[CallEvent]:
    """The events of ``call_id`` up to and including the first of ``kind``."""
    seen: list[CallEvent] = []
    while True:
        event = await next_event(stream)
        if event.call_id != call_id:
            continue
        seen.append(event)
        if isinstance(event, kind):
            return seen
        assert not isinstance(event, CallEnded), f"ended before {kind.__name__}: {seen}"


def kinds(events: list[CallEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def check_lifecycle(events: list[CallEvent]) -> None:
    """One call's events are in an order a call can live: dial, ring, answer, verdict, bridge, end."""
    assert events, "no events"
    assert isinstance(events[0], CallDialing), kinds(events)
    assert isinstance(events[-1], CallEnded), kinds(events)
    assert sum(isinstance(e, CallEnded) for e in events) == 1, kinds(events)
    order = {CallDialing: 0, CallRinging: 1, CallAnswered: 2, CallAmd: 3, CallBridged: 4, CallEnded: 5}
    ranks = [order[type(e)] for e in events]
    assert ranks == sorted(ranks), kinds(events)
    for once in (CallDialing, CallRinging, CallAnswered, CallAmd):
        assert sum(type(e) is once for e in events) <= 1, kinds(events)
    assert all(a.at <= b.at for a, b in itertools.pairwise(events)), [e.at for e in events]


# --- one call, each outcome ---------------------------------------------------------------


async def test_a_person_answers_and_amd_says_human(harness: Harness) -> None:
    async with harness.open("human") as port:
        stream = aiter(port.events())
        req = request_for(harness, "human")
        await port.originate(req)
        seen = await until(stream, CallAmd, req.call_id)
        assert kinds(seen) == ["CallDialing", "CallRinging", "CallAnswered", "CallAmd"]
        assert isinstance(seen[-1], CallAmd) and seen[-1].verdict is AmdVerdict.HUMAN
        await port.hangup(req.call_id, reason="agent busy")
        seen += await until(stream, CallEnded, req.call_id)
        check_lifecycle(seen)
        assert isinstance(seen[-1], CallEnded) and seen[-1].cause is HangupCause.NORMAL


async def test_a_machine_answers_and_stays_up_until_hung_up_as_machine(harness: Harness) -> None:
    async with harness.open("machine") as port:
        stream = aiter(port.events())
        req = request_for(harness, "machine")
        await port.originate(req)
        seen = await until(stream, CallAmd, req.call_id)
        assert kinds(seen) == ["CallDialing", "CallRinging", "CallAnswered", "CallAmd"]
        assert isinstance(seen[-1], CallAmd) and seen[-1].verdict is AmdVerdict.MACHINE
        await port.hangup(req.call_id, reason="machine")
        seen += await until(stream, CallEnded, req.call_id)
        check_lifecycle(seen)
        assert isinstance(seen[-1], CallEnded) and seen[-1].cause is HangupCause.MACHINE


@pytest.mark.parametrize(("outcome", "cause"), [("busy", HangupCause.BUSY), ("invalid", HangupCause.INVALID)])
async def test_busy_and_invalid_numbers_end_without_an_answer(
    harness: Harness, outcome: str, cause: HangupCause
) -> None:
    async with harness.open(outcome) as port:
        stream = aiter(port.events())
        req = request_for(harness, outcome)
        await port.originate(req)
        seen = await until(stream, CallEnded, req.call_id)
        check_lifecycle(seen)
        assert kinds(seen) in (["CallDialing", "CallEnded"], ["CallDialing", "CallRinging", "CallEnded"])
        assert isinstance(seen[-1], CallEnded) and seen[-1].cause is cause


async def test_a_call_nobody_answers_rings_out_at_the_ring_timeout(harness: Harness) -> None:
    async with harness.open("no_answer") as port:
        stream = aiter(port.events())
        req = request_for(harness, "no_answer")
        await port.originate(req)
        seen = await until(stream, CallEnded, req.call_id)
        assert kinds(seen) == ["CallDialing", "CallRinging", "CallEnded"]
        assert isinstance(seen[-1], CallEnded) and seen[-1].cause is HangupCause.NO_ANSWER


async def test_without_amd_an_answer_brings_no_verdict(harness: Harness) -> None:
    async with harness.open("human") as port:
        stream = aiter(port.events())
        req = request_for(harness, "human", amd=False)
        await port.originate(req)
        seen = await until(stream, CallAnswered, req.call_id)
        await port.connect_to_agent(req.call_id, harness.agent)
        seen += await until(stream, CallBridged, req.call_id)
        assert kinds(seen) == ["CallDialing", "CallRinging", "CallAnswered", "CallBridged"]
        await port.hangup(req.call_id)
        seen += await until(stream, CallEnded, req.call_id)
        check_lifecycle(seen)


# --- commands -----------------------------------------------------------------------------


async def test_connect_to_agent_bridges_and_hangup_ends(harness: Harness) -> None:
    async with harness.open("human") as port:
        stream = aiter(port.events())
        req = request_for(harness, "human")
        await port.originate(req)
        seen = await until(stream, CallAmd, req.call_id)
        await port.connect_to_agent(req.call_id, harness.agent)
        seen += await until(stream, CallBridged, req.call_id)
        assert isinstance(seen[-1], CallBridged) and seen[-1].agent == harness.agent
        await port.hangup(req.call_id, reason="agent hung up")
        seen += await until(stream, CallEnded, req.call_id)
        check_lifecycle(seen)
        assert kinds(seen)[-2:] == ["CallBridged", "CallEnded"]
        assert isinstance(seen[-1], CallEnded) and seen[-1].cause is HangupCause.NORMAL


async def test_play_and_hangup_ends_the_call_as_abandoned(harness: Harness) -> None:
    async with harness.open("human") as port:
        stream = aiter(port.events())
        req = request_for(harness, "human")
        await port.originate(req)
        seen = await until(stream, CallAmd, req.call_id)
        await port.play_and_hangup(req.call_id, "recobro-abandon")
        seen += await until(stream, CallEnded, req.call_id)
        check_lifecycle(seen)
        assert isinstance(seen[-1], CallEnded) and seen[-1].cause is HangupCause.ABANDONED


async def test_hangup_before_an_answer_cancels_the_call(harness: Harness) -> None:
    async with harness.open("no_answer") as port:
        stream = aiter(port.events())
        req = request_for(harness, "no_answer")
        await port.originate(req)
        seen = await until(stream, CallRinging, req.call_id)
        await port.hangup(req.call_id)
        seen += await until(stream, CallEnded, req.call_id)
        assert kinds(seen) == ["CallDialing", "CallRinging", "CallEnded"]
        assert isinstance(seen[-1], CallEnded) and seen[-1].cause is HangupCause.CANCELLED


async def test_hangup_twice_ends_the_call_once(harness: Harness) -> None:
    async with harness.open("human") as port:
        stream = aiter(port.events())
        first = request_for(harness, "human", 0)
        await port.originate(first)
        await until(stream, CallAnswered, first.call_id)
        await port.hangup(first.call_id)
        await port.hangup(first.call_id)
        await until(stream, CallEnded, first.call_id)
        # Events come in order: a second CallEnded would arrive before the next call's dialing.
        second = request_for(harness, "human", 1)
        await port.originate(second)
        while True:
            event = await next_event(stream)
            assert event.call_id != first.call_id, f"event after the end: {event}"
            if event.call_id == second.call_id:
                assert isinstance(event, CallDialing)
                break
        await port.hangup(second.call_id)


async def test_commands_on_unknown_or_ended_calls(harness: Harness) -> None:
    async with harness.open("busy") as port:
        stream = aiter(port.events())
        unknown = new_call_id()
        await port.hangup(unknown)  # a no-op
        with pytest.raises(NotFound):
            await port.connect_to_agent(unknown, harness.agent)
        with pytest.raises(NotFound):
            await port.play_and_hangup(unknown, "recobro-abandon")
        req = request_for(harness, "busy")
        await port.originate(req)
        await until(stream, CallEnded, req.call_id)
        await port.hangup(req.call_id)
        with pytest.raises(NotFound):
            await port.connect_to_agent(req.call_id, harness.agent)
        with pytest.raises(NotFound):
            await port.play_and_hangup(req.call_id, "recobro-abandon")


@pytest.mark.parametrize("agent", ["x\r\nAction: Hangup", "ana\x00", "a" * 300])
async def test_a_bad_agent_name_is_refused_before_it_reaches_the_pbx(harness: Harness, agent: str) -> None:
    async with harness.open("human") as port:
        stream = aiter(port.events())
        req = request_for(harness, "human")
        await port.originate(req)
        await until(stream, CallAmd, req.call_id)
        with pytest.raises(ValidationError) as err:
            await port.connect_to_agent(req.call_id, agent)
        assert err.value.field == "agent"
        await port.hangup(req.call_id)
        seen = await until(stream, CallEnded, req.call_id)
        assert not any(isinstance(e, CallBridged) for e in seen)


# --- many calls ---------------------------------------------------------------------------


async def test_twenty_concurrent_calls_each_get_a_complete_sequence(harness: Harness) -> None:
    async with harness.open("mixed") as port:
        stream = aiter(port.events())
        requests = [request_for(harness, "mixed", i) for i in range(20)]
        await asyncio.gather(*(port.originate(r) for r in requests))
        per_call: dict[CallId, list[CallEvent]] = {r.call_id: [] for r in requests}
        open_calls = set(per_call)
        while open_calls:
            event = await next_event(stream)
            assert event.call_id in per_call, event
            per_call[event.call_id].append(event)
            if isinstance(event, CallAmd):
                if event.verdict is AmdVerdict.MACHINE:
                    await port.hangup(event.call_id, reason="machine")
                else:
                    await port.connect_to_agent(event.call_id, harness.agent)
            elif isinstance(event, CallBridged):
                await port.hangup(event.call_id, reason="agent hung up")
            elif isinstance(event, CallEnded):
                assert event.call_id in open_calls, f"ended twice: {event}"
                open_calls.discard(event.call_id)
        for events in per_call.values():
            check_lifecycle(events)
        endings = {e.cause for events in per_call.values() for e in events if isinstance(e, CallEnded)}
        assert len(endings) >= 2, endings  # the mix really produced different lives


async def test_close_ends_the_event_stream(harness: Harness) -> None:
    async with harness.open("no_answer") as port:
        stream = aiter(port.events())
        req = request_for(harness, "no_answer")
        await port.originate(req)
        await until(stream, CallDialing, req.call_id)
        await port.close()
        async with asyncio.timeout(WAIT):
            rest = [e async for e in stream]
        assert all(e.call_id in ("", req.call_id) for e in rest), rest


async def test_the_port_satisfies_the_protocol(harness: Harness) -> None:
    async with harness.open("human") as port:
        assert isinstance(port, TelephonyPort)
