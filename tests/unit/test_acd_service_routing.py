"""The live ACD routes with the campaign's rule and required skills (``acd.routing``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from acd.ports import AgentProfile, CallOffer, CampaignTerms
from acd.routing import RoutingRule
from acd.service import AcdService
from acd.states import AgentState
from recobro.domain.events import CallEvent
from recobro.domain.ids import CallId
from recobro.runtime.sim_clock import SimClock
from recobro.telephony.port import OriginateRequest


class Port:
    def __init__(self) -> None:
        self.bridged: list[tuple[str, str]] = []

    async def originate(self, request: OriginateRequest) -> None:  # pragma: no cover - not used
        return None

    async def hangup(self, call_id: CallId, *, reason: str = "") -> None:  # pragma: no cover
        return None

    async def connect_to_agent(self, call_id: CallId, agent: str) -> None:
        self.bridged.append((call_id, agent))

    async def play_and_hangup(self, call_id: CallId, message: str) -> None:  # pragma: no cover
        return None

    async def events(self) -> AsyncIterator[CallEvent]:  # pragma: no cover
        if False:
            yield

    async def close(self) -> None:
        return None


class Store:
    async def record_state(self, agent_id: int, from_state: str, to_state: str, reason: str, at: datetime) -> None:
        return None

    async def account(self, account_id: int) -> Any:  # pragma: no cover - no disposition here
        raise AssertionError("not used")

    async def save_disposition(self, **kwargs: Any) -> int:  # pragma: no cover
        return 1


def who(i: int, level: int, campaigns: frozenset[int] = frozenset()) -> AgentProfile:
    return AgentProfile(id=i, username=f"a{i}", skills={"cobranza": level, "es": 5}, campaigns=campaigns)


def offer(call: str, campaign: int) -> CallOffer:
    return CallOffer(call_id=call, campaign_id=campaign, account_id=5, number="+525512345678")


async def floor(*profiles: AgentProfile) -> tuple[AcdService, Port]:
    port = Port()
    acd = AcdService(
        port=port, store=Store(), clock=SimClock(speed=1.0, wall_start=datetime(2026, 3, 4, 18, tzinfo=UTC))
    )
    acd.add_campaign(CampaignTerms(1, required_skills=("cobranza", "es")))  # default rule: skill_then_idle
    acd.add_campaign(CampaignTerms(2, required_skills=("cobranza",), routing_rule=RoutingRule.LONGEST_IDLE))
    for p in profiles:
        acd.add_agent(p)
        await acd.login(p.id)
    return acd, port


async def ready(acd: AcdService, *ids: int) -> None:
    for i in ids:
        await acd.ready(i)
        await asyncio.sleep(0.002)  # distinct ready times: the first has waited longest


async def test_skill_then_idle_campaign_gives_the_best_level_then_the_longest_idle() -> None:
    acd, port = await floor(who(1, 5), who(2, 9), who(3, 9), who(4, 10, campaigns=frozenset({3})))
    await ready(acd, 1, 4, 3, 2)  # 4 is the best but works another campaign
    assert await acd.offer(offer("c1", 1), 2.0) == 3  # level 9, ready before 2
    assert await acd.offer(offer("c2", 1), 2.0) == 2
    assert await acd.offer(offer("c3", 1), 2.0) == 1
    assert port.bridged == [("c1", "agent-a3"), ("c2", "agent-a2"), ("c3", "agent-a1")]


async def test_longest_idle_campaign_ignores_the_level() -> None:
    acd, _ = await floor(who(1, 2), who(2, 10))
    await ready(acd, 1, 2)
    assert await acd.offer(offer("c1", 2), 2.0) == 1
    assert acd.status(1).state == AgentState.RESERVED


async def test_a_waiting_offer_goes_to_the_next_agent_who_has_the_skills() -> None:
    acd, _ = await floor(who(1, 0), who(2, 3))  # agent 1 has no "cobranza" level
    await ready(acd, 1)
    waiting = asyncio.ensure_future(acd.offer(offer("c1", 1), 2.0))
    await asyncio.sleep(0.01)
    assert not waiting.done() and acd.status(1).state == AgentState.READY
    await ready(acd, 2)
    assert await waiting == 2
