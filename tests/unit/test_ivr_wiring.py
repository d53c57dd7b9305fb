"""The ACD as the IVR's AgentDesk (recobro.runtime.ivr_wiring): the estimated wait, a caller
reserved with the account's skills and no bridge through the port, the agent on the call and
then in wrap-up, the fallback to the platform's campaign, and a closed floor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from acd.ports import AgentProfile, CampaignTerms
from acd.service import AcdService
from acd.states import AgentState
from ivr.ports import AgentRequest, AgentTarget
from recobro.bus import LocalBus
from recobro.domain.events import CallEvent
from recobro.domain.ids import CallId
from recobro.runtime.ivr_wiring import AcdAgentDesk, estimated_wait
from recobro.runtime.sim_clock import SimClock
from recobro.telephony.port import OriginateRequest

NOON_CDMX = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)
IVR_CALL = "1764144000.42"  # an inbound IVR call's id is Asterisk's uniqueid


class NoBridgePort:
    """The ACD must not bridge an IVR caller through the port: the IVR's channel joins itself."""

    def __init__(self) -> None:
        self.bridged: list[tuple[str, str]] = []

    async def originate(self, request: OriginateRequest) -> None:  # pragma: no cover
        return None

    async def hangup(self, call_id: CallId, *, reason: str = "") -> None:
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


class NullStore:
    async def record_state(self, *args: Any) -> None:
        return None

    async def account(self, account_id: int) -> Any:  # pragma: no cover
        raise AssertionError

    async def save_disposition(self, **kwargs: Any) -> int:  # pragma: no cover
        return 1


@pytest.mark.parametrize(
    ("ready", "busy", "ahead", "expected"),
    [
        (1, [100.0], 0, 0.0),  # an agent is ready: at once
        (2, [], 1, 0.0),  # one caller ahead, two ready
        (0, [30.0, 90.0], 0, 30.0),  # the first busy agent to free
        (0, [30.0, 90.0], 1, 90.0),  # the second, for the second in line
        (0, [30.0, 90.0], 2, 30.0 + 210.0),  # the first again, one whole cycle later
        (1, [-5.0], 1, 0.0),  # overdue: any moment now
        (0, [], 0, None),  # nobody ready nor busy: nobody will ever come
    ],
)
def test_estimated_wait(ready: int, busy: list[float], ahead: int, expected: float | None) -> None:
    assert estimated_wait(ready, busy, ahead, 210.0) == expected


async def _floor(*skills: dict[str, int]) -> tuple[AcdService, NoBridgePort, SimClock]:
    clock = SimClock(speed=20.0, wall_start=NOON_CDMX)
    port = NoBridgePort()
    acd = AcdService(port=port, store=NullStore(), clock=clock, bus=LocalBus())
    acd.add_campaign(CampaignTerms(1, required_skills=("es",)))
    for i, s in enumerate(skills, start=1):
        acd.add_agent(AgentProfile(id=i, username=f"a{i}", skills=s, campaigns=frozenset({1}), endpoint=f"10{i}"))
        await acd.login(i)
        await acd.ready(i)
    return acd, port, clock


async def test_an_ivr_caller_reaches_the_agent_with_the_accounts_skill_in_their_conference() -> None:
    acd, port, clock = await _floor({"es": 5}, {"es": 5, "early": 3})
    desk = AcdAgentDesk(acd, clock, default_campaign=1)
    info = await desk.availability(1, ("early",))
    assert info.open and info.wait_seconds == 0.0
    request = AgentRequest(IVR_CALL, account_id=9, campaign_id=77, number="+525512345678", skills=("early",))
    target = await desk.reserve(request, within=5.0)  # campaign 77 has no agents: the platform's floor
    assert target == AgentTarget("confbridge", "recobro-agent-102", "recobro-agent-bridge,recobro-debtor")
    assert port.bridged == []  # the IVR's channel joins the conference itself
    assert acd.status(2).state == AgentState.ON_CALL and acd.assignment(2) is not None
    assert acd.status(1).state == AgentState.READY
    busy = await desk.availability(1, ("early",))
    assert busy.open and busy.wait_seconds == 0.0  # agent 1 is still ready
    await desk.release(IVR_CALL, connected=True)
    assert acd.status(2).state == AgentState.WRAP_UP
    await desk.release(IVR_CALL, connected=True)  # once only
    assert acd.status(2).state == AgentState.WRAP_UP


async def test_nobody_with_the_skill_within_the_time_gives_no_target_and_a_closed_floor_says_so() -> None:
    acd, _port, clock = await _floor({"es": 5})
    desk = AcdAgentDesk(acd, clock, default_campaign=1)
    request = AgentRequest(IVR_CALL, account_id=9, campaign_id=1, number="+525512345678", skills=("legal",))
    assert await asyncio.wait_for(desk.reserve(request, within=1.0), 2.0) is None
    assert acd.status(1).state == AgentState.READY
    await acd.logout(1)
    closed = await desk.availability(1, ())
    assert not closed.open
