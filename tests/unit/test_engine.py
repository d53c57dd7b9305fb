"""The campaign engine with a fake port and a fake ACD, on a throw-away SQLite database.

Figures are hand-computed: with 3 ready agents progressive pacing launches 3 calls and then none
while they are in flight; a person nobody takes is played the abandon message once the 2 s the
campaign allows have passed; a machine is hung up on at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.campaign_settings import changed_campaign
from dialer.engine import CampaignEngine
from dialer.hopper_source import DbHopperSource
from dialer.pacing import PredictiveStrategy, predictive
from dialer.ports import AgentFloor, PersonOffer
from recobro.domain.campaigns import CallingWindow, Campaign, CampaignMode
from recobro.domain.errors import Conflict, ValidationError
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
    PortDown,
    PortUp,
)
from recobro.domain.ids import CallId, CampaignId
from recobro.runtime.sim_clock import SimClock
from recobro.storage.db import make_engine, make_sessionmaker
from recobro.storage.models import (
    AccountRow,
    AgentRow,
    Base,
    CallRow,
    CampaignAccountRow,
    CampaignChangeRow,
    CampaignRow,
    PhoneRow,
)
from recobro.storage.repositories.calls import CallRepository
from recobro.storage.repositories.campaigns import CampaignRepository
from recobro.telephony.port import OriginateRequest

NOON_CDMX = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)  # a Wednesday, 12:00 in Mexico City
NAMES = ["María Peña", "José Núñez", "Ana Ruiz", "Luis Díaz", "Rosa Gil"]


class FakePort:
    """Records the commands; the test plays the PBX by handing events to the engine."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.originated: list[OriginateRequest] = []
        self.hangups: list[tuple[str, str]] = []
        self.played: list[tuple[str, str, float]] = []
        self.connected: list[tuple[str, str]] = []

    async def originate(self, request: OriginateRequest) -> None:
        self.originated.append(request)

    async def hangup(self, call_id: CallId, *, reason: str = "") -> None:
        self.hangups.append((call_id, reason))

    async def connect_to_agent(self, call_id: CallId, agent: str) -> None:
        self.connected.append((call_id, agent))

    async def play_and_hangup(self, call_id: CallId, message: str) -> None:
        self.played.append((call_id, message, self.clock.now()))

    async def events(self) -> AsyncIterator[CallEvent]:  # pragma: no cover - the test feeds handle()
        if False:
            yield

    async def close(self) -> None:
        return None


class FakeDesk:
    """``ready`` agents on the floor; an offer gets ``agent`` at once, or None after ``within``."""

    def __init__(self, clock: SimClock, ready: int, agent: int | None = None) -> None:
        self.clock = clock
        self.ready = ready
        self.agent = agent
        self.offers: list[tuple[PersonOffer, float]] = []

    def floor(self, campaign_id: int) -> AgentFloor:
        return AgentFloor(logged_in=self.ready, ready=self.ready)

    async def offer(self, offer: PersonOffer, within: float) -> int | None:
        self.offers.append((offer, within))
        if self.agent is not None:
            return self.agent
        await self.clock.sleep(within)
        return None


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'engine.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    made = make_sessionmaker(engine)
    async with made() as s, s.begin():
        camp = CampaignRow(name="t", mode="progressive", paused=False, window_start="00:00", window_end="23:59",
                           created_at=NOON_CDMX)
        s.add(camp)
        s.add(AgentRow(id=7, username="ana", display_name="Ana", password_hash="x"))
        await s.flush()
        for i, name in enumerate(NAMES):
            acc = AccountRow(
                external_ref=f"A-{i}", debtor_name=name, balance=Decimal("1500.00"), currency="MXN",
                due_date=date(2026, 2, 1), days_past_due=31, state="MX-CMX", content_hash="h",
                risk_score=Decimal(100 - i), created_at=NOON_CDMX, updated_at=NOON_CDMX,
            )
            acc.phones.append(PhoneRow(e164=f"+52551234{i:04d}", position=1, type="mobile",
                                       time_zones=["America/Mexico_City"]))
            s.add(acc)
            await s.flush()
            s.add(CampaignAccountRow(campaign_id=camp.id, account_id=acc.id))
    yield made
    await engine.dispose()


def campaign(mode: CampaignMode = CampaignMode.PROGRESSIVE) -> Campaign:
    return Campaign(name="t", mode=mode, window=CallingWindow(), paused=False, id=CampaignId(1),
                    company_name="Cobranza Ejemplo", callback_number="+525511112222")


def make_engine_under_test(
    sessions: async_sessionmaker[AsyncSession], clock: SimClock, desk: FakeDesk,
    mode: CampaignMode = CampaignMode.PROGRESSIVE,
) -> tuple[CampaignEngine, FakePort]:
    port = FakePort(clock)
    engine = CampaignEngine(
        campaign(mode),
        port=port,
        desk=desk,
        numbers=DbHopperSource(sessions, 1),
        calls=CallRepository(sessions),
        changes=CampaignRepository(sessions),
        clock=clock,
    )
    return engine, port


async def rows(sessions: async_sessionmaker[AsyncSession], model: Any) -> list[Any]:
    async with sessions() as s:
        return list((await s.execute(select(model))).scalars())


async def test_three_ready_agents_progressive_launches_three_then_none(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = SimClock(speed=1.0, wall_start=NOON_CDMX)
    engine, port = make_engine_under_test(sessions, clock, FakeDesk(clock, ready=3))
    assert await engine.tick() == 3
    assert len(port.originated) == 3
    assert await engine.tick() == 0  # 3 in flight for 3 ready agents: nothing more
    assert len(port.originated) == 3
    numbers = [r.number for r in port.originated]
    assert len(set(numbers)) == 3
    for req in port.originated:
        assert dict(req.variables).keys() == {"CAMPAIGN", "ACCOUNT"}
        assert req.variables["CAMPAIGN"] == "1"
        assert not any(n.split()[0] in " ".join(req.variables.values()) + req.caller_id for n in NAMES)
        assert req.caller_id == "+525511112222"
    # Highest risk first (risk 100, 99, 98): accounts.
    assert numbers == ["+525512340000", "+525512340001", "+525512340002"]
    await engine.flush()
    calls = await rows(sessions, CallRow)
    assert sorted(c.number for c in calls) == sorted(numbers)
    assert all(c.state == "queued" and c.queued_at is not None and c.campaign_id == 1 for c in calls)
    await engine.stop(grace=0.0)


async def test_live_changes_take_effect_on_the_next_tick_and_are_stored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = SimClock(speed=1.0, wall_start=NOON_CDMX)
    engine, port = make_engine_under_test(sessions, clock, FakeDesk(clock, ready=2), CampaignMode.PREDICTIVE)
    await engine.update("paused", True, "supervisor")
    assert await engine.tick() == 0
    assert port.originated == []
    await engine.update("target_abandon_rate", "0.02", "supervisor")
    strategy = engine.strategy
    assert isinstance(strategy, PredictiveStrategy) and strategy.budget.target == 0.02
    with pytest.raises(ValidationError):
        await engine.update("target_abandon_rate", 0.05, "supervisor")  # above the legal 3 %
    await engine.update("mode", "progressive", "maria.sup")
    await engine.update("paused", "false", "maria.sup")
    assert await engine.tick() == 2  # progressive now: one call per ready agent
    changes = await rows(sessions, CampaignChangeRow)
    assert [(c.field, c.old_value, c.new_value, c.changed_by) for c in changes] == [
        ("paused", "false", "true", "supervisor"),
        ("target_abandon_rate", "0.03", "0.02", "supervisor"),
        ("mode", "predictive", "progressive", "maria.sup"),
        ("paused", "true", "false", "maria.sup"),
    ]
    assert all(abs((c.changed_at - NOON_CDMX).total_seconds()) < 5 for c in changes)
    stored = (await rows(sessions, CampaignRow))[0]
    assert (stored.mode, stored.paused, stored.target_abandon_rate) == ("progressive", False, 0.02)
    await engine.stop(grace=0.0)


def test_changes_are_validated() -> None:
    base = campaign()
    with pytest.raises(ValidationError, match="unknown mode"):
        changed_campaign(base, "mode", "turbo")
    with pytest.raises(ValidationError, match="max dial ratio"):
        changed_campaign(base, "max_dial_ratio", 11)
    with pytest.raises(ValidationError, match="not a live field"):
        changed_campaign(base, "company_name", "X")
    assert changed_campaign(base, "max_dial_ratio", "2.5").max_dial_ratio == 2.5


async def _answer(engine: CampaignEngine, clock: SimClock, call_id: CallId, verdict: AmdVerdict) -> None:
    for event in (CallDialing(call_id, clock.now()), CallRinging(call_id, clock.now() + 0.01),
                  CallAnswered(call_id, clock.now() + 0.02), CallAmd(call_id, clock.now() + 0.03, verdict=verdict)):
        await engine.handle(event)


async def test_a_person_nobody_takes_hears_the_abandon_message_after_two_seconds(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = SimClock(speed=20.0, wall_start=NOON_CDMX)  # 2 s of the campaign in 0.1 s
    desk = FakeDesk(clock, ready=1, agent=None)
    engine, port = make_engine_under_test(sessions, clock, desk)
    assert await engine.tick() == 1
    call_id = port.originated[0].call_id
    await _answer(engine, clock, call_id, AmdVerdict.HUMAN)
    verdict_at = clock.now()
    assert engine.snapshot().waiting == 1
    for _ in range(100):
        if port.played:
            break
        await asyncio.sleep(0.01)
    assert len(port.played) == 1
    played_id, message, at = port.played[0]
    assert played_id == call_id and message == "abandon-1"
    assert 2.0 <= at - verdict_at < 2.6
    assert desk.offers[0][1] == 2.0
    assert "Cobranza Ejemplo" in engine.abandon_message and "+525511112222" in engine.abandon_message
    await engine.handle(CallEnded(call_id, clock.now(), cause=HangupCause.ABANDONED))
    await engine.flush()
    row = (await rows(sessions, CallRow))[0]
    assert (row.state, row.outcome, row.amd_verdict, row.hangup_cause) == ("ended", "abandoned", "human", "abandoned")
    assert engine.counts.abandoned == 1 and engine.metrics()["abandon_rate_run"] == 1.0
    await engine.stop(grace=0.0)


async def test_a_machine_is_hung_up_on(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = SimClock(speed=1.0, wall_start=NOON_CDMX)
    engine, port = make_engine_under_test(sessions, clock, FakeDesk(clock, ready=1, agent=7))
    await engine.tick()
    call_id = port.originated[0].call_id
    await _answer(engine, clock, call_id, AmdVerdict.MACHINE)
    assert port.hangups == [(call_id, "machine")]
    await engine.handle(CallEnded(call_id, clock.now() + 0.05, cause=HangupCause.MACHINE))
    await engine.flush()
    row = (await rows(sessions, CallRow))[0]
    assert (row.outcome, row.amd_verdict, row.agent_id) == ("machine", "machine", None)
    assert port.played == [] and port.connected == []
    await engine.stop(grace=0.0)


async def test_when_amd_errors_would_eat_the_budget_machines_go_to_an_agent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Target 1 %, AMD misjudges 1 % of people: hanging up on "machines" would spend it all.
    clock = SimClock(speed=1.0, wall_start=NOON_CDMX)
    strict = predictive(target=0.01, amd_false_positive=0.01, ring_timeout=25, connect_within=2.0)
    assert strict.machines_to_agents()
    port = FakePort(clock)
    desk = FakeDesk(clock, ready=1, agent=7)
    engine = CampaignEngine(
        campaign(CampaignMode.PREDICTIVE), port=port, desk=desk, numbers=DbHopperSource(sessions, 1),
        calls=CallRepository(sessions), changes=CampaignRepository(sessions), clock=clock, strategy=strict,
    )
    await engine.tick()
    call_id = port.originated[0].call_id
    await _answer(engine, clock, call_id, AmdVerdict.MACHINE)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert port.hangups == []
    assert [o.call_id for o, _ in desk.offers] == [call_id]
    await engine.handle(CallBridged(call_id, clock.now() + 0.04, agent="agent-ana"))
    await engine.handle(CallEnded(call_id, clock.now() + 6.0, cause=HangupCause.NORMAL))
    await engine.flush()
    row = (await rows(sessions, CallRow))[0]
    assert (row.amd_verdict, row.agent_id) == ("machine", 7)
    await engine.stop(grace=0.0)


async def test_a_person_with_an_agent_is_connected_and_the_row_has_every_timestamp(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = SimClock(speed=1.0, wall_start=NOON_CDMX)
    engine, port = make_engine_under_test(sessions, clock, FakeDesk(clock, ready=1, agent=7))
    await engine.tick()
    call_id = port.originated[0].call_id
    await _answer(engine, clock, call_id, AmdVerdict.HUMAN)
    await asyncio.sleep(0)  # the route task runs: the desk names agent 7
    await asyncio.sleep(0)
    await engine.handle(CallBridged(call_id, clock.now() + 0.04, agent="agent-ana"))
    await engine.handle(CallEnded(call_id, clock.now() + 30.0, cause=HangupCause.NORMAL))
    await engine.flush()
    row = (await rows(sessions, CallRow))[0]
    assert (row.state, row.outcome, row.agent_id, row.hangup_cause) == ("ended", "connected", 7, "normal")
    stamps = [row.queued_at, row.dialed_at, row.ringing_at, row.answered_at, row.amd_at, row.connected_at, row.ended_at]
    assert all(s is not None for s in stamps)
    assert stamps == sorted(stamps)
    assert 29.0 < (row.ended_at - row.connected_at).total_seconds() < 31.0
    assert engine.counts.connects == 1 and engine.counts.abandoned == 0
    await engine.stop(grace=0.0)


async def test_a_busy_number_is_not_redialed_within_its_retry_delay(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = SimClock(speed=1.0, wall_start=NOON_CDMX)
    engine, port = make_engine_under_test(sessions, clock, FakeDesk(clock, ready=5))
    assert await engine.tick() == 5
    for req in port.originated:
        await engine.handle(CallDialing(req.call_id, clock.now()))
        await engine.handle(CallEnded(req.call_id, clock.now(), cause=HangupCause.BUSY))
    assert engine.live_calls() == 0
    assert await engine.tick() == 0  # every number waits its 15-minute busy delay
    assert engine.nothing_to_dial and engine.held_back == {"retry.delay": 5}
    await engine.stop(grace=0.0)


async def test_stop_closes_what_the_pbx_never_ended(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = SimClock(speed=1.0, wall_start=NOON_CDMX)
    engine, port = make_engine_under_test(sessions, clock, FakeDesk(clock, ready=2))
    await engine.tick()
    await engine.handle(CallDialing(port.originated[0].call_id, clock.now()))
    await engine.stop(grace=0.0)
    assert sorted(port.hangups) == sorted((r.call_id, "shutdown") for r in port.originated)
    calls = await rows(sessions, CallRow)
    assert {(c.state, c.hangup_cause, c.outcome) for c in calls} == {("ended", "cancelled", "no_answer")}
    assert await engine.tick() == 0


async def test_a_campaign_without_an_id_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = SimClock()
    with pytest.raises(ValidationError):
        CampaignEngine(
            Campaign(name="x"), port=FakePort(clock), desk=FakeDesk(clock, 1), numbers=DbHopperSource(sessions, 1),
            calls=CallRepository(sessions), changes=CampaignRepository(sessions), clock=clock,
        )



async def test_stop_hangs_up_ringing_calls_at_once_but_lets_an_answered_person_reach_an_agent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = SimClock(speed=20.0, wall_start=NOON_CDMX)
    engine, port = make_engine_under_test(sessions, clock, FakeDesk(clock, ready=2, agent=7))
    assert await engine.tick() == 2
    ringing, answered = (r.call_id for r in port.originated)
    for event in (CallDialing(ringing, clock.now()), CallDialing(answered, clock.now()),
                  CallAnswered(answered, clock.now())):
        await engine.handle(event)
    stopping = asyncio.create_task(engine.stop(grace=5.0))
    await asyncio.sleep(0.01)
    assert port.hangups == [(ringing, "shutdown")]  # nobody on that line: hung up at once
    await engine.handle(CallEnded(ringing, clock.now(), cause=HangupCause.CANCELLED))
    await engine.handle(CallAmd(answered, clock.now(), verdict=AmdVerdict.HUMAN))
    await asyncio.sleep(0.01)  # the desk names agent 7
    await engine.handle(CallBridged(answered, clock.now(), agent="agent-ana"))
    await asyncio.sleep(0.02)
    assert port.hangups[-1] == (answered, "shutdown") and port.played == []
    await engine.handle(CallEnded(answered, clock.now(), cause=HangupCause.NORMAL))
    await stopping
    outcomes = {c.id: c.outcome for c in await rows(sessions, CallRow)}
    assert outcomes == {ringing: "no_answer", answered: "connected"}


async def test_a_pbx_link_down_pauses_dialing_until_it_is_back(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = SimClock(speed=1.0, wall_start=NOON_CDMX)
    engine, port = make_engine_under_test(sessions, clock, FakeDesk(clock, ready=2))
    await engine.handle(PortDown(CallId(""), clock.now()))
    assert engine.pbx_down and engine.metrics()["pbx_down"] is True
    assert await engine.tick() == 0
    assert port.originated == []
    await engine.handle(PortUp(CallId(""), clock.now()))
    assert not engine.pbx_down
    assert await engine.tick() == 2
    await engine.flush()
    assert {c.outcome for c in await rows(sessions, CallRow)} == {None}  # no FAILED row for the down link
    await engine.stop(grace=0.0)


class _DownPort(FakePort):
    """The link drops between the engine's last PortUp and the originate: the port refuses."""

    async def originate(self, request: OriginateRequest) -> None:
        self.originated.append(request)
        raise Conflict("sin conexión con Asterisk / Asterisk is not reachable now", code="pbx_down")


async def test_a_refusal_for_a_down_link_stops_the_batch_and_pauses(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = SimClock(speed=1.0, wall_start=NOON_CDMX)
    desk = FakeDesk(clock, ready=3)
    engine, _ = make_engine_under_test(sessions, clock, desk)
    port = _DownPort(clock)
    engine._port = port
    assert await engine.tick() == 1  # the first originate learns the link is down; the other two wait
    assert len(port.originated) == 1 and engine.pbx_down
    assert await engine.tick() == 0
    await engine.flush()
    (row,) = await rows(sessions, CallRow)
    assert row.outcome == "failed" and row.dialed_at is None
    await engine.handle(PortUp(CallId(""), clock.now()))
    up = FakePort(clock)
    engine._port = up
    assert await engine.tick() == 3  # that number was not an attempt: it is dialed again with the others
    assert row.number in {r.number for r in up.originated}
    await engine.stop(grace=0.0)
