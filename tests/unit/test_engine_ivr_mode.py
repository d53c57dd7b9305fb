"""Campaign mode ivr (voice broadcast): the engine originates into the IVR's dialplan context with
the ids the IVR reads, never offers the person to an agent nor hangs up on a machine, and the
IVR's outcome becomes the call's outcome. A fake port and desk, a throw-away SQLite database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.engine import IVR_CONTEXT, CampaignEngine
from dialer.hopper_source import DbHopperSource
from dialer.pacing import LinesStrategy
from dialer.ports import AgentFloor, PersonOffer
from recobro.domain.campaigns import CallingWindow, Campaign, CampaignMode
from recobro.domain.events import (
    AmdVerdict,
    CallAmd,
    CallAnswered,
    CallDialing,
    CallEnded,
    CallEvent,
    CallRinging,
    HangupCause,
)
from recobro.domain.floor import FloorSnapshot
from recobro.domain.ids import CallId, CampaignId
from recobro.runtime.sim_clock import SimClock
from recobro.storage.db import make_engine, make_sessionmaker
from recobro.storage.models import AccountRow, Base, CallRow, CampaignAccountRow, CampaignRow, PhoneRow
from recobro.storage.repositories.calls import CallRepository
from recobro.storage.repositories.campaigns import CampaignRepository
from recobro.telephony.port import OriginateRequest

NOON_CDMX = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)
ACCOUNTS = 3


class FakePort:
    def __init__(self) -> None:
        self.originated: list[OriginateRequest] = []
        self.hangups: list[tuple[str, str]] = []
        self.connected: list[str] = []
        self.played: list[str] = []

    async def originate(self, request: OriginateRequest) -> None:
        self.originated.append(request)

    async def hangup(self, call_id: CallId, *, reason: str = "") -> None:
        self.hangups.append((call_id, reason))

    async def connect_to_agent(self, call_id: CallId, agent: str) -> None:
        self.connected.append(call_id)

    async def play_and_hangup(self, call_id: CallId, message: str) -> None:
        self.played.append(call_id)

    async def events(self) -> AsyncIterator[CallEvent]:  # pragma: no cover - the test feeds handle()
        if False:
            yield

    async def close(self) -> None:
        return None


class NoAgents:
    """An empty floor: a voice broadcast dials without agents, and must never offer anyone."""

    def __init__(self) -> None:
        self.offers: list[PersonOffer] = []

    def floor(self, campaign_id: int) -> AgentFloor:
        return AgentFloor()

    async def offer(self, offer: PersonOffer, within: float) -> int | None:
        self.offers.append(offer)
        return None


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'ivr-engine.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    made = make_sessionmaker(engine)
    async with made() as s, s.begin():
        camp = CampaignRow(name="broadcast", mode="ivr", paused=False, window_start="00:00", window_end="23:59",
                           created_at=NOON_CDMX)
        s.add(camp)
        await s.flush()
        for i in range(ACCOUNTS):
            acc = AccountRow(
                external_ref=f"B-{i}", debtor_name=f"Deudor {i}", balance=Decimal("900.00"), currency="MXN",
                due_date=date(2026, 2, 25), days_past_due=7, state="MX-CMX", content_hash="h",
                risk_score=Decimal(50 - i), created_at=NOON_CDMX, updated_at=NOON_CDMX,
            )
            acc.phones.append(PhoneRow(e164=f"+52551777{i:04d}", position=1, type="mobile",
                                       time_zones=["America/Mexico_City"]))
            s.add(acc)
            await s.flush()
            s.add(CampaignAccountRow(campaign_id=camp.id, account_id=acc.id))
    yield made
    await engine.dispose()


def _engine(sessions: async_sessionmaker[AsyncSession], clock: SimClock) -> tuple[CampaignEngine, FakePort, NoAgents]:
    port, desk = FakePort(), NoAgents()
    campaign = Campaign(name="broadcast", mode=CampaignMode.IVR, window=CallingWindow(), paused=False,
                        id=CampaignId(1), company_name="Cobranza Uno", callback_number="+525511112222")
    engine = CampaignEngine(
        campaign, port=port, desk=desk, numbers=DbHopperSource(sessions, 1), calls=CallRepository(sessions),
        changes=CampaignRepository(sessions), clock=clock,
    )
    return engine, port, desk


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    async with sessions() as s:
        return {r.id: r for r in (await s.execute(select(CallRow))).scalars()}


async def _answer(engine: CampaignEngine, clock: SimClock, call_id: CallId, verdict: AmdVerdict) -> None:
    t = clock.now()
    for event in (CallDialing(call_id, t), CallRinging(call_id, t + 0.01), CallAnswered(call_id, t + 0.02),
                  CallAmd(call_id, t + 0.03, verdict=verdict)):
        await engine.handle(event)


async def test_ivr_campaign_originates_into_the_ivr_and_keeps_its_outcomes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = SimClock(speed=1.0, wall_start=NOON_CDMX)
    engine, port, desk = _engine(sessions, clock)
    assert isinstance(engine.strategy, LinesStrategy)
    assert await engine.tick() == ACCOUNTS  # no agent on the floor: the IVR takes everyone
    ids = {r.number: r.call_id for r in port.originated}
    async with sessions() as s:
        accounts = {p.e164: p.account_id for p in (await s.execute(select(PhoneRow))).scalars()}
    for request in port.originated:
        assert request.context == IVR_CONTEXT and request.amd
        assert request.variables["RECOBRO_IVR_FLOW"] == "outbound"
        assert request.variables["RECOBRO_CALL_ID"] == request.call_id
        assert request.variables["RECOBRO_CAMPAIGN_ID"] == "1"
        assert request.variables["RECOBRO_ACCOUNT_ID"] == str(accounts[request.number])
        assert request.variables["RECOBRO_NUMBER"] == request.number
    promise, machine, gone = (ids[n] for n in sorted(ids))
    await _answer(engine, clock, promise, AmdVerdict.HUMAN)
    await _answer(engine, clock, machine, AmdVerdict.MACHINE)
    await _answer(engine, clock, gone, AmdVerdict.NOTSURE)
    assert desk.offers == [] and port.hangups == [] and port.played == []  # the IVR has them all
    engine.ivr_outcome(promise, "promise_to_pay")
    engine.ivr_outcome(machine, "voicemail_left")
    for call_id in (promise, machine, gone):  # the IVR (or the person) hangs up
        await engine.handle(CallEnded(call_id, clock.now() + 1, cause=HangupCause.NORMAL))
    await engine.flush()
    assert (await _rows(sessions))[gone].outcome == "ivr"  # the PBX's hang-up came first
    engine.ivr_outcome(gone, "hung_up")  # the IVR's word arrives just after: it still lands in the row
    engine.ivr_outcome(gone, "promise_to_pay")  # ... once
    await engine.flush()
    rows = await _rows(sessions)
    assert {k: rows[k].outcome for k in (promise, machine, gone)} == {
        promise: "promise_to_pay", machine: "voicemail_left", gone: "hung_up"
    }
    assert all(rows[k].mode == "ivr" for k in rows)
    assert engine.counts.abandoned == 0 and engine.counts.live == 2 and engine.counts.machines == 1
    await engine.stop(grace=0.0)


def _floor(ringing: int, waiting: int) -> FloorSnapshot:
    return FloorSnapshot(now=0.0, logged_in=0, ready=0, leaving=0, talk_started=(), wrap_started=(),
                         machine_started=(), ringing_since=[0.0] * ringing, analysing_since=(), waiting=waiting)


def test_ivr_lines_cap_the_calls_in_flight() -> None:
    lines = LinesStrategy(lines=4)
    assert lines.launches(_floor(ringing=1, waiting=2)) == 1  # people in the IVR hold a line
    assert lines.launches(_floor(ringing=3, waiting=2)) == 0
    assert lines.launches(_floor(ringing=0, waiting=0)) == 4
