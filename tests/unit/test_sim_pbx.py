"""SimulatedPbx in detail, on a hand-driven clock: exact times, fates, causes and refusals.

The contract suite (tests/contract) checks what any TelephonyPort does; this file checks what
only the simulated PBX promises: when each event falls for a given fate, how AMD's mistakes
play out, who hangs up when nobody else does, and what ``speed`` does to the timeline.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from recobro.domain.errors import Conflict, NotFound, ValidationError
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
from recobro.telephony.port import OriginateRequest
from recobro.telephony.sim import pbx as pbx_module
from recobro.telephony.sim.pbx import MESSAGE_SECONDS, PATIENCE, RINGING_AFTER, SimulatedPbx
from recobro.telephony.sim.population import Answer, Population
from recobro.telephony.sim.scenario import Scenario, scenario_from_dict

T0 = 1000.0


class _Timer:
    def __init__(self, callback: Callable[[], object]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A Clock that moves only when the test says so, running due timers in time order."""

    def __init__(self, start: float = T0) -> None:
        self.t = start
        self._heap: list[tuple[float, int, _Timer]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self.t

    def wall(self) -> datetime:
        return datetime(2025, 3, 3, 15, 0, tzinfo=UTC) + timedelta(seconds=self.t - T0)

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def call_at(self, when: float, callback: Callable[[], object]) -> _Timer:
        timer = _Timer(callback)
        heapq.heappush(self._heap, (when, next(self._seq), timer))
        return timer

    def pending(self) -> int:
        return sum(not timer.cancelled for _, _, timer in self._heap)

    def advance(self, seconds: float) -> None:
        target = self.t + seconds
        while self._heap and self._heap[0][0] <= target:
            when, _, timer = heapq.heappop(self._heap)
            self.t = max(self.t, when)
            if not timer.cancelled:
                timer.callback()
        self.t = target


@dataclass
class Rig:
    pbx: SimulatedPbx
    clock: ManualClock
    seen: list[CallEvent] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def dial(self, *, number: str = "+5215512345678", **extra: Any) -> CallId:
        call_id = CallId(f"{next(self.ids):016x}")
        await self.pbx.originate(OriginateRequest(call_id=call_id, number=number, **extra))
        await settle()
        return call_id

    async def run(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await settle()

    def of(self, call_id: CallId) -> list[CallEvent]:
        return [e for e in self.seen if e.call_id == call_id]

    def kinds(self, call_id: CallId) -> list[str]:
        return [type(e).__name__ for e in self.of(call_id)]

    def last(self, call_id: CallId) -> CallEvent:
        return self.of(call_id)[-1]


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def scenario(
    *,
    numbers: dict[str, Any] | None = None,
    amd: dict[str, Any] | None = None,
    talk: Any = 40,
) -> Scenario:
    body: dict[str, Any] = {"count": 50, "human_answer_rate": 0.0, "ring_seconds": 5, "no_answer_timeout": 25}
    body.update(numbers or {})
    return scenario_from_dict(
        {
            "run": {"seed": 3, "hours": 2.0},
            "agents": {"count": 1, "talk_seconds": talk, "wrap_seconds": 5},
            "numbers": body,
            "amd": {"enabled": True, "analysis_seconds": 2, **(amd or {})},
        },
        "unit",
    )


@pytest.fixture
async def make() -> AsyncIterator[Callable[..., Rig]]:
    rigs: list[tuple[Rig, asyncio.Task[None]]] = []

    def build(scn: Scenario, *, speed: float = 1.0) -> Rig:
        clock = ManualClock()
        rig = Rig(SimulatedPbx(scn, clock, speed=speed), clock)

        async def collect() -> None:
            async for event in rig.pbx.events():
                rig.seen.append(event)

        rigs.append((rig, asyncio.get_running_loop().create_task(collect())))
        return rig

    yield build
    for rig, task in rigs:
        await rig.pbx.close()
        await asyncio.wait_for(task, 1.0)


HUMAN = {"human_answer_rate": 1.0}
MACHINE = {"machine_rate": 1.0}


# --- timelines ----------------------------------------------------------------------------


async def test_a_person_with_amd_follows_the_fate_to_the_second(make: Callable[..., Rig]) -> None:
    rig = make(scenario(numbers=HUMAN))
    call = await rig.dial()
    await rig.run(100)
    assert rig.kinds(call) == ["CallDialing", "CallRinging", "CallAnswered", "CallAmd", "CallEnded"]
    times = [e.at - T0 for e in rig.of(call)]
    assert times == pytest.approx([0.0, RINGING_AFTER, 5.0, 7.0, 7.0 + PATIENCE])
    verdict, end = rig.of(call)[3], rig.last(call)
    assert isinstance(verdict, CallAmd) and verdict.verdict is AmdVerdict.HUMAN and verdict.cause == "HUMAN"
    assert isinstance(end, CallEnded) and end.cause is HangupCause.NORMAL and end.detail == "caller hung up"


async def test_speed_compresses_every_duration(make: Callable[..., Rig]) -> None:
    rig = make(scenario(numbers=HUMAN), speed=10)
    call = await rig.dial()
    await rig.run(10)
    times = [e.at - T0 for e in rig.of(call)]
    assert times == pytest.approx([0.0, RINGING_AFTER / 10, 0.5, 0.7, 0.7 + PATIENCE / 10])


async def test_the_channel_echoes_the_number(make: Callable[..., Rig]) -> None:
    rig = make(scenario(numbers=HUMAN))
    call = await rig.dial(number="+5213312345678")
    first = rig.of(call)[0]
    assert isinstance(first, CallDialing) and "+5213312345678" in first.channel


@pytest.mark.parametrize(
    ("rates", "cause", "detail"),
    [({"busy_rate": 1.0}, HangupCause.BUSY, "17 user busy"), ({"invalid_rate": 1.0}, HangupCause.INVALID, "1 ")],
)
async def test_busy_and_invalid_end_after_the_quick_time(
    make: Callable[..., Rig], rates: dict[str, float], cause: HangupCause, detail: str
) -> None:
    rig = make(scenario(numbers=rates))
    call = await rig.dial()
    quick = rig.pbx.fate_of(call).quick
    await rig.run(quick - 1e-6)
    assert not any(isinstance(e, CallEnded) for e in rig.of(call))
    await rig.run(1e-3)
    end = rig.last(call)
    assert isinstance(end, CallEnded) and end.cause is cause and end.detail.startswith(detail)
    assert end.at - T0 == pytest.approx(quick)
    ringing = rig.of(call)[1]
    assert isinstance(ringing, CallRinging) and ringing.at - T0 == pytest.approx(min(RINGING_AFTER, quick / 2))


async def test_nobody_answers_until_the_requests_ring_timeout(make: Callable[..., Rig]) -> None:
    rig = make(scenario())
    call = await rig.dial(ring_timeout=18)
    await rig.run(100)
    assert rig.kinds(call) == ["CallDialing", "CallRinging", "CallEnded"]
    end = rig.last(call)
    assert isinstance(end, CallEnded) and end.cause is HangupCause.NO_ANSWER and end.at - T0 == pytest.approx(18)


async def test_an_answer_slower_than_the_ring_timeout_is_no_answer(make: Callable[..., Rig]) -> None:
    rig = make(scenario(numbers={**HUMAN, "ring_seconds": 8}))
    slow = await rig.dial(ring_timeout=6)
    fast = await rig.dial(ring_timeout=9)
    await rig.run(100)
    assert rig.pbx.fate_of(slow).answer is Answer.HUMAN
    end = rig.last(slow)
    assert isinstance(end, CallEnded) and end.cause is HangupCause.NO_ANSWER and end.at - T0 == pytest.approx(6)
    assert "CallAnswered" in rig.kinds(fast)


async def test_without_amd_a_person_hangs_up_patience_after_the_answer(make: Callable[..., Rig]) -> None:
    rig = make(scenario(numbers=HUMAN))
    call = await rig.dial(amd=False)
    await rig.run(100)
    assert rig.kinds(call) == ["CallDialing", "CallRinging", "CallAnswered", "CallEnded"]
    assert rig.last(call).at - T0 == pytest.approx(5.0 + PATIENCE)


# --- AMD and who hangs up -----------------------------------------------------------------


async def test_a_machine_stays_up_until_the_platform_hangs_up(make: Callable[..., Rig]) -> None:
    rig = make(scenario(numbers=MACHINE))
    call = await rig.dial()
    await rig.run(3600)
    assert rig.kinds(call) == ["CallDialing", "CallRinging", "CallAnswered", "CallAmd"]
    verdict = rig.last(call)
    assert isinstance(verdict, CallAmd) and verdict.verdict is AmdVerdict.MACHINE
    await rig.pbx.hangup(call, reason="machine")
    await settle()
    end = rig.last(call)
    assert isinstance(end, CallEnded) and end.cause is HangupCause.MACHINE and end.detail == "machine"
    assert end.at - T0 == pytest.approx(3600)


async def test_amd_mistakes_flip_the_verdict_not_the_person(make: Callable[..., Rig]) -> None:
    rig = make(
        scenario(
            numbers={"human_answer_rate": 0.5, "machine_rate": 0.5},
            amd={"human_as_machine": 1.0, "machine_as_human": 1.0},
        )
    )
    calls = [await rig.dial() for _ in range(12)]
    await rig.run(PATIENCE + 10)
    answers = {rig.pbx.fate_of(c).answer for c in calls}
    assert answers == {Answer.HUMAN, Answer.MACHINE}
    for call in calls:
        fate = rig.pbx.fate_of(call)
        assert fate.amd_wrong
        verdict = next(e for e in rig.of(call) if isinstance(e, CallAmd))
        wanted = AmdVerdict.MACHINE if fate.answer is Answer.HUMAN else AmdVerdict.HUMAN
        assert verdict.verdict is wanted
        # A person still gives up when nobody speaks; a machine (taken for a person) waits.
        ended = isinstance(rig.last(call), CallEnded)
        assert ended is (fate.answer is Answer.HUMAN)


async def test_hangup_causes_follow_the_stage_and_the_reason(make: Callable[..., Rig]) -> None:
    rig = make(scenario(numbers=MACHINE))
    ringing, up, machine = await rig.dial(), await rig.dial(), await rig.dial()
    await rig.run(1)
    await rig.pbx.hangup(ringing, reason="machine")
    await rig.run(10)
    await rig.pbx.hangup(up, reason="agent hung up")
    await rig.pbx.hangup(machine, reason="machine")
    await settle()
    causes = [rig.last(c) for c in (ringing, up, machine)]
    assert [e.cause for e in causes if isinstance(e, CallEnded)] == [
        HangupCause.CANCELLED,
        HangupCause.NORMAL,
        HangupCause.MACHINE,
    ]


async def test_a_hung_up_call_fires_no_more_timers(make: Callable[..., Rig]) -> None:
    rig = make(scenario(numbers=HUMAN))
    call = await rig.dial()
    await rig.run(3)  # ringing, answer pending
    await rig.pbx.hangup(call)
    await rig.pbx.hangup(call)
    await rig.run(1000)
    assert rig.kinds(call) == ["CallDialing", "CallRinging", "CallEnded"]
    assert rig.clock.pending() == 0


# --- connect and play ---------------------------------------------------------------------


async def test_a_bridged_person_hangs_up_after_their_talk_time(make: Callable[..., Rig]) -> None:
    rig = make(scenario(numbers=HUMAN, talk={"dist": "uniform", "low": 30, "high": 90}))
    call = await rig.dial()
    await rig.run(7)  # verdict
    await rig.pbx.connect_to_agent(call, "ana")
    await settle()
    bridged = rig.last(call)
    assert isinstance(bridged, CallBridged) and bridged.agent == "ana" and bridged.at - T0 == pytest.approx(7)
    talk = rig.pbx.fate_of(call).talk
    await rig.run(talk / 2)
    await rig.pbx.connect_to_agent(call, "beto")  # a transfer keeps the person's clock
    await rig.run(talk / 2 + 1e-3)
    end = rig.last(call)
    assert isinstance(end, CallEnded) and end.cause is HangupCause.NORMAL and end.detail == "debtor hung up"
    assert end.at - T0 == pytest.approx(7 + talk, abs=1e-3)
    assert rig.kinds(call).count("CallBridged") == 2


async def test_the_agent_hanging_up_first_ends_the_talk_once(make: Callable[..., Rig]) -> None:
    rig = make(scenario(numbers=HUMAN))
    call = await rig.dial()
    await rig.run(8)
    await rig.pbx.connect_to_agent(call, "ana")
    await rig.run(5)
    await rig.pbx.hangup(call, reason="agent hung up")
    await rig.run(1000)
    assert rig.kinds(call).count("CallEnded") == 1
    end = rig.last(call)
    assert isinstance(end, CallEnded) and end.detail == "agent hung up" and end.at - T0 == pytest.approx(13)


async def test_a_machine_at_an_agent_waits_for_the_agent(make: Callable[..., Rig]) -> None:
    rig = make(scenario(numbers=MACHINE, amd={"machine_as_human": 1.0}))
    call = await rig.dial()
    await rig.run(7)
    await rig.pbx.connect_to_agent(call, "ana")
    await rig.run(3600)
    assert rig.kinds(call)[-1] == "CallBridged"


async def test_play_and_hangup_lasts_the_message(make: Callable[..., Rig]) -> None:
    rig = make(scenario(numbers={"human_answer_rate": 0.5, "machine_rate": 0.5}))
    calls = [await rig.dial() for _ in range(8)]
    await rig.run(7)
    for call in calls:
        await rig.pbx.play_and_hangup(call, "recobro-abandon")
    with pytest.raises(Conflict):
        await rig.pbx.connect_to_agent(calls[0], "ana")
    await rig.run(MESSAGE_SECONDS - 1e-3)
    assert not any(isinstance(e, CallEnded) for e in rig.seen)
    await rig.run(2e-3)
    for call in calls:
        end = rig.last(call)
        person = rig.pbx.fate_of(call).answer is Answer.HUMAN
        assert isinstance(end, CallEnded) and end.at - T0 == pytest.approx(7 + MESSAGE_SECONDS)
        # An abandon message to a person; a voicemail message to a machine is no abandon.
        assert end.cause is (HangupCause.ABANDONED if person else HangupCause.MACHINE)
    assert {rig.pbx.fate_of(c).answer for c in calls} == {Answer.HUMAN, Answer.MACHINE}


async def test_connect_or_play_before_the_answer_is_a_conflict(make: Callable[..., Rig]) -> None:
    rig = make(scenario(numbers=HUMAN))
    call = await rig.dial()
    with pytest.raises(Conflict):
        await rig.pbx.connect_to_agent(call, "ana")
    with pytest.raises(Conflict):
        await rig.pbx.play_and_hangup(call, "recobro-abandon")
    await rig.run(100)
    with pytest.raises(NotFound):
        await rig.pbx.connect_to_agent(call, "ana")


@pytest.mark.parametrize(
    ("command", "value"),
    [("agent", ""), ("agent", "ana\nAction: Hangup"), ("message", ""), ("message", "x\r\n"), ("reason", "a\rb")],
)
async def test_values_that_would_reach_the_pbx_are_checked(make: Callable[..., Rig], command: str, value: str) -> None:
    rig = make(scenario(numbers=HUMAN))
    call = await rig.dial()
    await rig.run(7)
    with pytest.raises(ValidationError) as err:
        if command == "agent":
            await rig.pbx.connect_to_agent(call, value)
        elif command == "message":
            await rig.pbx.play_and_hangup(call, value)
        else:
            await rig.pbx.hangup(call, reason=value)
    assert err.value.field == command
    assert rig.kinds(call)[-1] == "CallAmd"


# --- the population, ids and closing ------------------------------------------------------


async def test_fates_come_from_the_population_in_list_order_and_by_hour(make: Callable[..., Rig]) -> None:
    scn = scenario(numbers={"human_answer_rate": [[0.0, 1.0], [1.0, 0.0]], "busy_rate": [[0.0, 0.0], [1.0, 1.0]]})
    rig = make(scn, speed=10)  # hour 1 of the run is 360 s of the clock
    first = [await rig.dial() for _ in range(3)]
    await rig.run(360)
    later = await rig.dial()
    reference = Population(scn)
    for index, call in enumerate(first):
        assert rig.pbx.fate_of(call) == reference.fate(index, 0.0)
    assert rig.pbx.fate_of(later) == reference.fate(3, 1.0)
    assert [rig.pbx.fate_of(c).answer for c in [*first, later]] == [Answer.HUMAN] * 3 + [Answer.BUSY]


async def test_a_call_id_is_used_once_and_a_closed_port_refuses_calls(make: Callable[..., Rig]) -> None:
    rig = make(scenario(numbers={"busy_rate": 1.0}))
    request = OriginateRequest(call_id=CallId("00000000000000aa"), number="+5215512345678")
    await rig.pbx.originate(request)
    with pytest.raises(Conflict):
        await rig.pbx.originate(request)
    await rig.run(10)
    with pytest.raises(Conflict):
        await rig.pbx.originate(request)
    await rig.pbx.close()
    with pytest.raises(Conflict) as err:
        await rig.dial()
    assert err.value.code == "port_closed"


async def test_ended_calls_are_forgotten_past_the_limit(
    make: Callable[..., Rig], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pbx_module, "REMEMBER_ENDED", 3)
    rig = make(scenario(numbers={"busy_rate": 1.0}))
    calls = [await rig.dial() for _ in range(5)]
    await rig.run(10)
    with pytest.raises(NotFound):
        rig.pbx.fate_of(calls[0])
    assert rig.pbx.fate_of(calls[-1]).answer is Answer.BUSY


async def test_close_cancels_timers_and_ends_every_reader(make: Callable[..., Rig]) -> None:
    rig = make(scenario(numbers=HUMAN))
    calls = [await rig.dial() for _ in range(4)]
    await rig.run(1)
    assert rig.clock.pending() == 4
    second_reader = asyncio.get_running_loop().create_task(_drain(rig.pbx))
    await settle()
    await rig.pbx.close()
    assert rig.clock.pending() == 0
    await rig.run(1000)
    assert await asyncio.wait_for(second_reader, 1.0) == 0
    assert all(rig.kinds(c) == ["CallDialing", "CallRinging"] for c in calls)
    await rig.pbx.close()  # twice is harmless


async def _drain(pbx: SimulatedPbx) -> int:
    return len([e async for e in pbx.events()])


@pytest.mark.parametrize("speed", [0, -1, math.nan, math.inf, True])
def test_speed_must_be_a_positive_number(speed: float) -> None:
    with pytest.raises(ValidationError):
        SimulatedPbx(scenario(), ManualClock(), speed=speed)


async def test_many_calls_interleave_in_time_order(make: Callable[..., Rig]) -> None:
    scn = scenario(
        numbers={
            "human_answer_rate": 0.3,
            "machine_rate": 0.3,
            "busy_rate": 0.1,
            "invalid_rate": 0.1,
            "ring_seconds": {"dist": "lognormal", "mean": 8, "sd": 4},
        },
        amd={"analysis_seconds": {"dist": "uniform", "low": 1, "high": 4}},
    )
    rig = make(scn)
    calls = []
    for _ in range(40):
        calls.append(await rig.dial())
        await rig.run(0.37)
    await rig.run(200)
    assert all(a.at <= b.at for a, b in itertools.pairwise(rig.seen))
    for call in calls:
        kinds = rig.kinds(call)
        fate = rig.pbx.fate_of(call)
        assert kinds[:2] == ["CallDialing", "CallRinging"]
        if fate.answer is Answer.MACHINE and fate.ring < 25:
            assert kinds[-1] == "CallAmd"  # waits for the platform
        else:
            assert kinds[-1] == "CallEnded" and kinds.count("CallEnded") == 1
    assert {type(e) for e in rig.seen} >= {CallAnswered, CallEnded, CallAmd}
