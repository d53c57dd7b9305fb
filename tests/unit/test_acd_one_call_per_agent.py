"""The ACD never books an agent twice: on Asterisk each agent's ConfBridge holds two members
(the agent and one debtor), so a second person redirected into it would be refused.

Many people are offered at once to few agents while the PBX's bridge takes a while (the ACD
awaits it), sometimes fails, and calls end at random moments before or after the bridge. The
fake PBX keeps each agent's bridge as Asterisk would and fails the test on a second debtor.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from acd.ports import AgentProfile, CallOffer, CampaignTerms
from acd.service import AcdService
from acd.states import AgentState
from recobro.bus import LocalBus
from recobro.domain.dispositions import Disposition, DispositionCode
from recobro.domain.errors import Conflict
from recobro.domain.events import CallBridged, CallEnded, CallEvent, HangupCause
from recobro.domain.ids import CallId
from recobro.runtime.sim_clock import SimClock
from recobro.telephony.port import OriginateRequest
from tests.unit.test_acd_service import NOON_CDMX, MemoryStore


class TwoSeatBridges:
    """Each agent's bridge: the agent plus at most one debtor (confbridge max_members = 2)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seat: dict[str, str] = {}  # agent leg -> debtor call in the bridge
        self.acd: AcdService | None = None
        self.connects = 0

    async def connect_to_agent(self, call_id: CallId, agent: str) -> None:
        await asyncio.sleep(self.rng.uniform(0, 0.004))  # the Redirect's round trip
        if self.rng.random() < 0.15:
            raise Conflict("la llamada terminó / call is over", code="call_not_found")
        assert agent not in self.seat, f"agent {agent} booked twice: {self.seat[agent]} and {call_id}"
        self.seat[agent] = call_id
        self.connects += 1
        assert self.acd is not None
        await self.acd.handle(CallBridged(call_id, 0.0))

    async def end(self, call_id: str) -> None:
        for agent, held in list(self.seat.items()):
            if held == call_id:
                del self.seat[agent]
        assert self.acd is not None
        await self.acd.handle(CallEnded(CallId(call_id), 0.0, HangupCause.NORMAL))

    async def originate(self, request: OriginateRequest) -> None:  # pragma: no cover - not used
        return None

    async def hangup(self, call_id: CallId, *, reason: str = "") -> None:
        await self.end(call_id)

    async def play_and_hangup(self, call_id: CallId, message: str) -> None:  # pragma: no cover
        return None

    async def events(self) -> AsyncIterator[CallEvent]:  # pragma: no cover
        if False:
            yield

    async def close(self) -> None:
        return None


async def _agent_loop(acd: AcdService, agent_id: int, rng: random.Random, stop: asyncio.Event) -> None:
    """A quick agent: disposes each call in wrap-up at once."""
    while not stop.is_set():
        if acd.status(agent_id).state == AgentState.WRAP_UP:
            await acd.dispose(agent_id, Disposition(DispositionCode.REFUSED, notes="t"))
        await asyncio.sleep(rng.uniform(0, 0.002))


@pytest.mark.parametrize("seed", range(12))
async def test_concurrent_offers_never_put_two_people_in_one_agents_bridge(seed: int) -> None:
    rng = random.Random(seed)
    clock = SimClock(speed=1.0, wall_start=NOON_CDMX)
    port = TwoSeatBridges(rng)
    acd = AcdService(port=port, store=MemoryStore(), clock=clock, bus=LocalBus())
    port.acd = acd
    acd.add_campaign(CampaignTerms(1, required_skills=("es",), promise_horizon_days=30))
    for i in (1, 2):
        acd.add_agent(AgentProfile(id=i, username=f"a{i}", skills={"es": 5}, campaigns=frozenset({1}),
                                   endpoint=str(2000 + i)))
        await acd.login(i)
        await acd.ready(i)
    stop = asyncio.Event()
    agents = [asyncio.create_task(_agent_loop(acd, i, rng, stop)) for i in (1, 2)]

    async def person(n: int) -> int | None:
        call_id = f"{n:016x}"
        await asyncio.sleep(rng.uniform(0, 0.02))
        got = await acd.offer(CallOffer(call_id, 1, 5, "+525512345678"), within=0.05)
        if got is not None:
            await asyncio.sleep(rng.uniform(0, 0.006))  # talk
        await port.end(call_id)  # the person hangs up (a taken one after talking)
        return got

    taken = await asyncio.gather(*(person(n) for n in range(1, 25)))
    stop.set()
    await asyncio.gather(*agents)
    assert port.connects == sum(1 for t in taken if t is not None) > 0
    assert port.seat == {}
    await acd.close()
