"""A real uvicorn server on a free port over the desktop API, and real websocket clients.

``desk`` builds the API over a temporary SQLite database (the demo seeded: a supervisor and two
agents sim01, sim02 with the password ``demo-pass``; the sample accounts imported) and a real
``AcdService`` on a hand-driven fake PBX, so a test can offer a call to an agent directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
import websockets
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from acd.ports import CampaignTerms
from acd.service import AcdService
from agent_desktop_api.app import create_app
from agent_desktop_api.auth import Authenticator
from agent_desktop_api.services import DesktopServices, Limits
from recobro.bus import LocalBus
from recobro.domain.events import CallEvent
from recobro.domain.ids import CallId
from recobro.importing.pipeline import default_rules, prepare, store
from recobro.runtime.demo_seed import seed_demo
from recobro.runtime.sim_clock import SimClock
from recobro.storage.db import make_engine, make_sessionmaker
from recobro.storage.migrate import upgrade_engine
from recobro.storage.models import CallRow
from recobro.storage.repositories.agents import AgentRepository
from recobro.telephony.port import OriginateRequest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample" / "accounts-demo.csv"
NOON_CDMX = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)  # Wednesday 12:00 in Mexico City
PASSWORD = "demo-pass"
SECRET = "test-token-secret-0123456789"


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a free loopback port; yields ``host:port``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class FakePort:
    """A PBX that bridges and hangs up on request; the test reports the events to the ACD."""

    def __init__(self) -> None:
        self.hangups: list[str] = []

    async def originate(self, request: OriginateRequest) -> None:
        return None

    async def hangup(self, call_id: CallId, *, reason: str = "") -> None:
        self.hangups.append(call_id)

    async def connect_to_agent(self, call_id: CallId, agent: str) -> None:
        return None

    async def play_and_hangup(self, call_id: CallId, message: str) -> None:
        return None

    async def events(self) -> AsyncIterator[CallEvent]:  # pragma: no cover - never iterated
        if False:
            yield

    async def close(self) -> None:
        return None


async def seeded_db(tmp_path: Path) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession], int]:
    db = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'api.sqlite3'}")
    await upgrade_engine(db)
    sessions = make_sessionmaker(db)
    seeded = await seed_demo(sessions, sim_agents=2, company="Cobranza Demo", callback_number="+525511112222",
                             now=NOON_CDMX, password=PASSWORD)
    prepared = await asyncio.to_thread(prepare, SAMPLE, default_rules("MX", NOON_CDMX.date()),
                                       report=tmp_path / "rejected.csv")
    await store(prepared, db, campaign="demo", now=NOON_CDMX)
    return db, sessions, seeded.campaign_id


@dataclass
class Desk:
    base: str
    acd: AcdService
    port: FakePort
    clock: SimClock
    sessions: async_sessionmaker[AsyncSession]
    campaign_id: int

    def ws(self, path: str, token: str | None) -> Any:
        query = f"?token={token}" if token is not None else ""
        return websockets.connect(f"ws://{self.base}{path}{query}", open_timeout=5, close_timeout=2)

    async def login(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        async with httpx2.AsyncClient(base_url=f"http://{self.base}") as client:
            r = await client.post("/api/auth/login", json={"username": username, "password": password})
            assert r.status_code == 200, r.text
            return dict(r.json())

    async def token(self, username: str) -> str:
        return str((await self.login(username))["token"])

    async def add_call(self, call_id: str, account_id: int, number: str) -> None:
        async with self.sessions() as s, s.begin():
            await s.execute(insert(CallRow).values(id=call_id, campaign_id=self.campaign_id, account_id=account_id,
                                                   number=number, state="answered", queued_at=self.clock.wall()))


@contextlib.asynccontextmanager
async def desk(tmp_path: Path, *, limits: Limits | None = None,
               tune: Callable[[AcdService], None] | None = None) -> AsyncIterator[Desk]:
    db, sessions, campaign_id = await seeded_db(tmp_path)
    clock = SimClock(speed=1.0, wall_start=NOON_CDMX)
    port, bus = FakePort(), LocalBus()
    acd = AcdService(port=port, store=AgentRepository(sessions), clock=clock, bus=bus)
    acd.add_campaign(CampaignTerms(campaign_id, ("es",), 30))
    if tune is not None:
        tune(acd)
    svc = DesktopServices(
        campaigns=_NoCampaigns(), agents=acd, auth=Authenticator(sessions, secret=SECRET, ttl_seconds=3600),
        acd=acd, sessions=sessions, db=db, clock=clock, bus=bus, limits=limits or Limits(ready_grace_seconds=0.3),
    )
    app = create_app(svc)
    try:
        async with serving(app) as base:
            yield Desk(base, acd, port, clock, sessions, campaign_id)
    finally:
        await app.state.agent_hub.close()
        await acd.close()
        await bus.close()
        await db.dispose()


class _NoCampaigns:
    async def list_campaigns(self) -> list[dict[str, Any]]:
        return []

    def live_metrics(self, campaign_id: int) -> dict[str, Any]:
        return {}


async def next_of(ws: Any, *types: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next message of one of ``types`` (others are skipped)."""
    async def wait() -> dict[str, Any]:
        while True:
            msg = json.loads(await ws.recv())
            if msg.get("type") in types:
                return dict(msg)

    return await asyncio.wait_for(wait(), timeout)


async def state_of(ws: Any, state: str, timeout: float = 5.0) -> dict[str, Any]:
    """Skip messages until a ``state`` message with this state."""
    async def wait() -> dict[str, Any]:
        while True:
            msg = json.loads(await ws.recv())
            if msg.get("type") == "state" and msg.get("state") == state:
                return dict(msg)

    return await asyncio.wait_for(wait(), timeout)
