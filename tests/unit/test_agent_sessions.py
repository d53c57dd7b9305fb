"""AgentSessions: agents' legs follow their log-in and log-out, and come back after a PBX restart.

A fake PBX port records the calls to agents' phones and says who sits in which bridge; the ACD
is the real service (its state messages on the bus drive the keeper).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from acd.ports import AgentProfile
from acd.service import AcdService
from recobro.bus import LocalBus
from recobro.domain.errors import ValidationError
from recobro.domain.events import PortDown, PortUp
from recobro.domain.ids import CallId
from recobro.runtime.agent_sessions import AgentSessions
from recobro.runtime.demo_seed import seed_demo
from recobro.runtime.settings import Settings
from recobro.runtime.wiring import ServeOptions, build_platform
from recobro.storage.db import make_engine, make_sessionmaker
from recobro.storage.migrate import upgrade_engine
from recobro.telephony.clock import LoopClock
from tests.services import free_port


class FakeLegs:
    def __init__(self) -> None:
        self.ready = True
        self.seated: dict[str, list[str]] = {}
        self.started: list[tuple[str, str]] = []
        self.stopped: list[str] = []
        self.answer = True  # the phone answers at once

    async def start_agent_session(self, agent: str, dial: str, *, ring_timeout: float = 20.0) -> None:
        self.started.append((agent, dial))
        if self.answer:
            self.seated[agent] = [f"PJSIP/agent-{agent}-{len(self.started)}"]

    async def agent_session_channels(self, agent: str) -> list[str]:
        return list(self.seated.get(agent, []))

    async def stop_agent_session(self, agent: str) -> int:
        self.stopped.append(agent)
        return len(self.seated.pop(agent, []))


class NoStore:
    async def record_state(self, *args: Any) -> None:
        return None


async def _until(check: Any, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


@pytest.fixture
async def keeper() -> Any:
    clock, bus, legs = LoopClock(), LocalBus(), FakeLegs()
    acd = AcdService(port=None, store=NoStore(), clock=clock, bus=bus)  # type: ignore[arg-type]
    for agent_id, ext in ((1, "2001"), (2, "2002")):
        acd.add_agent(AgentProfile(id=agent_id, username=f"a{agent_id}", display_name="A", endpoint=ext))
    sessions = AgentSessions(legs, acd, bus, clock, dial=lambda ext: f"PJSIP/phones/sip:{ext}@x",
                             check_every=0.05, ring_timeout=0.2)
    task = asyncio.create_task(sessions.run())
    await sessions.subscribed.wait()
    yield acd, legs, sessions
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await acd.close()


async def test_login_calls_the_agents_phone_into_their_bridge_once_and_logout_hangs_it_up(keeper: Any) -> None:
    acd, legs, _ = keeper
    await acd.login(1)
    await acd.ready(1)
    await _until(lambda: legs.seated.get("2001"))
    await asyncio.sleep(0.2)  # several checks later: still one call, agent 2 (logged out) never called
    assert legs.started == [("2001", "PJSIP/phones/sip:2001@x")]
    await acd.logout(1)
    await _until(lambda: legs.stopped == ["2001"])
    await asyncio.sleep(0.15)
    assert len(legs.started) == 1


async def test_a_phone_that_does_not_answer_is_called_again_only_after_its_ring_timeout(keeper: Any) -> None:
    acd, legs, _ = keeper
    legs.answer = False
    await acd.login(2)
    await _until(lambda: len(legs.started) == 1)
    await asyncio.sleep(0.1)
    assert len(legs.started) == 1  # still ringing (0.2 s + 2 s grace): not called twice
    legs.answer = True


async def test_after_a_pbx_restart_every_logged_in_agent_is_called_again(keeper: Any) -> None:
    acd, legs, sessions = keeper
    for agent_id in (1, 2):
        await acd.login(agent_id)
    await _until(lambda: len(legs.seated) == 2)
    legs.ready = False
    await sessions.handle(PortDown(CallId(""), 0.0))
    legs.seated.clear()  # Asterisk restarted: the bridges are gone
    legs.ready = True
    await sessions.handle(PortUp(CallId(""), 0.0))
    await _until(lambda: len(legs.seated) == 2)
    assert sorted(a for a, _ in legs.started) == ["2001", "2001", "2002", "2002"]


async def test_serve_on_asterisk_that_cannot_be_reached_says_so(tmp_path: Any) -> None:
    settings = Settings.model_validate({"data_dir": tmp_path, "telephony": "asterisk", "ami_port": free_port()})
    db = make_engine(settings.effective_database_url)
    await upgrade_engine(db)
    await seed_demo(make_sessionmaker(db), sim_agents=0, company="C", callback_number="+525511112222",
                    now=datetime.now().astimezone(), password="demo-pass")
    await db.dispose()
    with pytest.raises(ValidationError, match="Cannot reach Asterisk's AMI"):
        await build_platform(settings, ServeOptions(sim_agents=0))
