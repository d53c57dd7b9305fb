"""The ACD service: who takes a person, waiting offers, the PBX's events, dispositions, the floor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from acd.ports import AgentProfile, CallOffer, CampaignTerms
from acd.service import AcdService
from acd.states import AgentState
from recobro.bus import LocalBus
from recobro.domain.accounts import Account
from recobro.domain.dispositions import Disposition, DispositionCode
from recobro.domain.errors import Conflict, ValidationError
from recobro.domain.events import CallBridged, CallEnded, CallEvent, HangupCause
from recobro.domain.floor import Observation, Seen
from recobro.domain.ids import AccountId, CallId
from recobro.runtime.sim_clock import SimClock
from recobro.telephony.port import OriginateRequest

NOON_CDMX = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)


class FakePort:
    def __init__(self) -> None:
        self.bridged: list[tuple[str, str]] = []
        self.hangups: list[tuple[str, str]] = []
        self.refuse_bridge = False

    async def originate(self, request: OriginateRequest) -> None:  # pragma: no cover - not used by the ACD
        return None

    async def hangup(self, call_id: CallId, *, reason: str = "") -> None:
        self.hangups.append((call_id, reason))

    async def connect_to_agent(self, call_id: CallId, agent: str) -> None:
        if self.refuse_bridge:
            raise Conflict("call is over")
        self.bridged.append((call_id, agent))

    async def play_and_hangup(self, call_id: CallId, message: str) -> None:  # pragma: no cover
        return None

    async def events(self) -> AsyncIterator[CallEvent]:  # pragma: no cover
        if False:
            yield

    async def close(self) -> None:
        return None


@dataclass
class MemoryStore:
    states: list[tuple[int, str, str, str]] = field(default_factory=list)
    saved: list[dict[str, Any]] = field(default_factory=list)

    async def record_state(self, agent_id: int, from_state: str, to_state: str, reason: str, at: datetime) -> None:
        self.states.append((agent_id, from_state, to_state, reason))

    async def account(self, account_id: int) -> Account:
        return Account(external_ref=f"A-{account_id}", debtor_name="Ana Ruiz", balance=Decimal("1000.00"),
                       currency="MXN", due_date=date(2026, 2, 1), days_past_due=31, id=AccountId(account_id))

    async def save_disposition(self, **kwargs: Any) -> int:
        self.saved.append(kwargs)
        return len(self.saved)


def offer(call: str, campaign: int = 1) -> CallOffer:
    return CallOffer(call_id=call, campaign_id=campaign, account_id=5, number="+525512345678")


CALL_A, CALL_B = "aaaaaaaa00000001", "bbbbbbbb00000002"


async def make(*profiles: AgentProfile, speed: float = 1.0) -> tuple[AcdService, FakePort, MemoryStore, SimClock]:
    clock = SimClock(speed=speed, wall_start=NOON_CDMX)
    port, store = FakePort(), MemoryStore()
    acd = AcdService(port=port, store=store, clock=clock, bus=LocalBus())
    acd.add_campaign(CampaignTerms(1, required_skills=("es",), promise_horizon_days=30))
    for p in profiles:
        acd.add_agent(p)
    return acd, port, store, clock


def agent(i: int, skills: dict[str, int] | None = None, campaigns: frozenset[int] = frozenset({1})) -> AgentProfile:
    return AgentProfile(id=i, username=f"sim{i:02d}", skills={"es": 5} if skills is None else skills,
                        campaigns=campaigns)


async def go_ready(acd: AcdService, *ids: int) -> None:
    for i in ids:
        await acd.login(i)
        await acd.ready(i)
        await asyncio.sleep(0.002)  # distinct ready times: the first one has waited longest


async def test_the_longest_idle_agent_with_the_skills_and_the_campaign_takes_the_person() -> None:
    acd, port, _, _ = await make(agent(1, skills={"en": 5}), agent(2), agent(3), agent(4, campaigns=frozenset({2})))
    await go_ready(acd, 1, 4, 2, 3)  # 1 lacks "es", 4 works another campaign
    assert await acd.offer(offer(CALL_A), 2.0) == 2
    assert port.bridged == [(CALL_A, "agent-sim02")]
    assert acd.status(2).state == AgentState.RESERVED
    assert await acd.offer(offer(CALL_B), 2.0) == 3
    floor = acd.floor(1)
    assert (floor.logged_in, floor.ready, len(floor.talk_started)) == (3, 1, 2)
    assert floor.by_state == {"ready": 1, "reserved": 2}


async def test_a_waiting_person_goes_to_the_first_agent_who_becomes_ready() -> None:
    acd, port, _, clock = await make(agent(1), speed=20.0)
    await acd.login(1)
    waiting = asyncio.create_task(acd.offer(offer(CALL_A), 2.0))
    await clock.sleep(0.5)
    assert not waiting.done()
    await acd.ready(1)
    assert await waiting == 1
    assert port.bridged == [(CALL_A, "agent-sim01")]


async def test_nobody_ready_in_time_is_none_after_the_deadline() -> None:
    acd, port, _, clock = await make(agent(1), speed=20.0)
    start = clock.now()
    assert await acd.offer(offer(CALL_A), 2.0) is None
    assert 2.0 <= clock.now() - start < 2.6
    await acd.login(1)
    await acd.ready(1)
    assert acd.status(1).state == AgentState.READY  # the expired offer took nobody
    assert port.bridged == []


async def test_a_failed_bridge_puts_the_agent_back_to_ready() -> None:
    acd, port, store, _ = await make(agent(1))
    await go_ready(acd, 1)
    port.refuse_bridge = True
    assert await acd.offer(offer(CALL_A), 2.0) is None
    assert acd.status(1).state == AgentState.READY
    await acd.flush()
    assert [s[2] for s in store.states] == ["paused", "ready", "reserved", "ready"]


async def test_bridge_end_wrap_up_and_disposition_walk_the_agent_and_teach_the_pacing() -> None:
    acd, port, store, clock = await make(agent(1))
    seen: list[tuple[int, Observation]] = []
    acd.on_observation(lambda campaign, obs: seen.append((campaign, obs)))
    await go_ready(acd, 1)
    await acd.offer(offer(CALL_A), 2.0)
    await acd.handle(CallBridged(CallId(CALL_A), clock.now(), agent="agent-sim01"))
    assert acd.status(1).state == AgentState.TALKING
    await acd.hangup(1)
    assert port.hangups == [(CALL_A, "agent")]
    await acd.handle(CallEnded(CallId(CALL_A), clock.now(), cause=HangupCause.NORMAL))
    assert acd.status(1).state == AgentState.WRAP_UP
    with pytest.raises(ValidationError, match="above the balance"):
        await acd.dispose(1, Disposition(DispositionCode.PROMISE_TO_PAY, promise_amount=Decimal("1000.01"),
                                         promise_date=date(2026, 3, 10)))
    assert acd.status(1).state == AgentState.WRAP_UP  # a refused disposition changes nothing
    ptp = Disposition(DispositionCode.PROMISE_TO_PAY, promise_amount=Decimal("400"), promise_date=date(2026, 3, 10))
    assert await acd.dispose(1, ptp, idempotency_key="k1") == 1
    assert acd.status(1).state == AgentState.READY
    assert store.saved[0]["call_id"] == CALL_A and store.saved[0]["currency"] == "MXN"
    assert store.saved[0]["idempotency_key"] == "k1"
    assert [(c, o.kind) for c, o in seen] == [(1, Seen.WRAP)]
    with pytest.raises(Conflict):
        await acd.dispose(1, ptp)  # nothing left to dispose
    await acd.flush()
    assert [(s[1], s[2]) for s in store.states] == [
        ("logged_out", "paused"), ("paused", "ready"), ("ready", "reserved"), ("reserved", "on_call"),
        ("on_call", "wrap_up"), ("wrap_up", "ready"),
    ]
    assert store.states[-1][3] == "promise_to_pay"


async def test_a_person_who_hangs_up_before_the_bridge_frees_the_agent() -> None:
    acd, _, _, clock = await make(agent(1))
    await go_ready(acd, 1)
    await acd.offer(offer(CALL_A), 2.0)
    await acd.handle(CallEnded(CallId(CALL_A), clock.now(), cause=HangupCause.NORMAL))
    assert acd.status(1).state == AgentState.READY


async def test_a_break_asked_for_on_a_call_starts_after_the_disposition_and_counts_as_leaving() -> None:
    acd, _, _, clock = await make(agent(1))
    await go_ready(acd, 1)
    await acd.offer(offer(CALL_A), 2.0)
    await acd.handle(CallBridged(CallId(CALL_A), clock.now(), agent="x"))
    await acd.take_break(1, "lunch")
    assert acd.floor(1).leaving == 1 and acd.floor(1).talk_started == []
    await acd.handle(CallEnded(CallId(CALL_A), clock.now(), cause=HangupCause.NORMAL))
    await acd.dispose(1, Disposition(DispositionCode.REFUSED))
    assert acd.status(1).state == AgentState.BREAK


async def test_a_callback_must_be_in_the_future_and_within_the_horizon() -> None:
    acd, _, store, clock = await make(agent(1))
    await go_ready(acd, 1)
    await acd.offer(offer(CALL_A), 2.0)
    await acd.handle(CallBridged(CallId(CALL_A), clock.now(), agent="x"))
    await acd.handle(CallEnded(CallId(CALL_A), clock.now(), cause=HangupCause.NORMAL))
    with pytest.raises(ValidationError, match="in the past"):
        await acd.dispose(1, Disposition(DispositionCode.CALLBACK, callback_at=NOON_CDMX - timedelta(hours=1)))
    await acd.dispose(1, Disposition(DispositionCode.CALLBACK, callback_at=NOON_CDMX + timedelta(days=2)))
    assert store.saved[0]["number"] == "+525512345678" and store.saved[0]["campaign_id"] == 1


async def test_state_changes_are_published_for_the_agents_desktop() -> None:
    acd, _, _, _ = await make(agent(1))
    bus = acd._bus
    assert isinstance(bus, LocalBus)
    async with bus.subscribe("agent.1") as sub:
        await go_ready(acd, 1)
        await acd.offer(offer(CALL_A), 2.0)
        got = [sub.queue.get_nowait()[1] for _ in range(sub.queue.qsize())]
    assert [m["state"] for m in got] == ["paused", "ready", "reserved"]
    assert got[-1]["call"] == {"call_id": CALL_A, "campaign_id": 1, "account_id": 5, "number": "+525512345678"}


async def on_call(acd: AcdService, clock: SimClock, agent_id: int, call: str = CALL_A) -> None:
    await go_ready(acd, agent_id)
    await acd.offer(offer(call), 2.0)
    await acd.handle(CallBridged(CallId(call), clock.now(), agent="x"))


async def test_pause_reasons_come_from_the_floors_list_and_an_unknown_one_changes_nothing() -> None:
    clock = SimClock(speed=1.0, wall_start=NOON_CDMX)
    acd = AcdService(port=FakePort(), store=MemoryStore(), clock=clock, pause_reasons=("coaching", "lunch"))
    acd.add_agent(agent(1))
    await acd.login(1)
    await acd.ready(1)
    with pytest.raises(ValidationError, match="unknown pause reason 'break'") as err:
        await acd.pause(1, "break")
    assert err.value.field == "reason" and acd.status(1).state == AgentState.READY
    assert (await acd.pause(1, "coaching")).reason == "coaching"
    assert acd.agents_view()[0]["reason"] == "coaching"


async def test_the_wrap_up_limit_sends_the_agent_back_to_ready_without_a_disposition() -> None:
    acd, _, store, clock = await make(agent(1), speed=50.0)
    acd.set_wrap_up_limit(1, 2.0)
    await on_call(acd, clock, 1)
    await acd.handle(CallEnded(CallId(CALL_A), clock.now(), cause=HangupCause.NORMAL))
    assert acd.status(1).state == AgentState.WRAP_UP
    await clock.sleep(1.5)
    assert acd.status(1).state == AgentState.WRAP_UP
    await clock.sleep(1.0)
    assert acd.status(1).state == AgentState.READY and acd.assignment(1) is None
    await acd.flush()
    assert store.states[-1][1:] == ("wrap_up", "ready", "wrap_up_limit") and store.saved == []


async def test_the_wrap_up_limit_may_pause_and_a_disposition_in_time_cancels_it() -> None:
    acd, _, _, clock = await make(agent(1), agent(2), speed=50.0)
    acd.set_wrap_up_limit(1, 2.0, then_pause=True)
    await on_call(acd, clock, 1)
    await acd.handle(CallEnded(CallId(CALL_A), clock.now(), cause=HangupCause.NORMAL))
    await clock.sleep(2.5)
    assert (acd.status(1).state, acd.status(1).reason) == (AgentState.PAUSED, "wrap_up_limit")
    await on_call(acd, clock, 2, CALL_B)
    await acd.handle(CallEnded(CallId(CALL_B), clock.now(), cause=HangupCause.NORMAL))
    await acd.dispose(2, Disposition(DispositionCode.REFUSED))
    await clock.sleep(2.5)
    assert acd.status(2).state == AgentState.READY  # the timer of the disposed call did nothing


async def test_a_forced_pause_waits_for_the_call_and_a_forced_logout_drops_it() -> None:
    acd, port, store, clock = await make(agent(1), agent(2))
    await on_call(acd, clock, 1)
    await acd.force_pause(1, "meeting", by="supervisor")
    assert acd.status(1).state == AgentState.ON_CALL and acd.status(1).leaving
    await go_ready(acd, 2)
    await acd.offer(offer(CALL_B), 2.0)
    await acd.handle(CallBridged(CallId(CALL_B), clock.now(), agent="x"))
    await acd.force_logout(2, by="supervisor")
    assert acd.status(2).state == AgentState.LOGGED_OUT and acd.assignment(2) is None
    assert port.hangups == [(CALL_B, "supervisor")]
    await acd.handle(CallEnded(CallId(CALL_B), clock.now(), cause=HangupCause.NORMAL))  # ignored now
    assert acd.status(2).state == AgentState.LOGGED_OUT
    with pytest.raises(Conflict):
        await acd.force_logout(2, by="supervisor")
    await acd.flush()
    assert store.states[-1][1:] == ("on_call", "logged_out", "forced logout by supervisor")
