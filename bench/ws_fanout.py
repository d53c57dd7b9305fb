"""Websocket fan-out of agent state changes: N agents connected to /ws/agent, every one moved.

A real uvicorn server (its own thread and event loop, as in production where the clients are
elsewhere) serves the desktop API over a temporary SQLite database with N agents; N real
websocket clients (``websockets``) connect with their own tokens. Then, ``--rounds`` times, the
server moves every agent at once (ready, then paused: a burst of N state changes through the
ACD, the bus and the hub) and each client notes when its ``state`` message arrives. Latency is
from just before the ACD call (``perf_counter``, shared by both threads) to the client's
receipt. A second figure is the agent's own round trip: send ``ready``/``pause``, get the state.
Prints one JSON object.

    .venv/bin/python bench/ws_fanout.py [--agents 500] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
import websockets
from argon2 import PasswordHasher
from sqlalchemy import insert

from acd.ports import CampaignTerms
from acd.service import AcdService
from agent_desktop_api.app import create_app
from agent_desktop_api.auth import Authenticator
from agent_desktop_api.services import DesktopServices, Limits
from recobro.bus import LocalBus
from recobro.domain.events import CallEvent
from recobro.domain.ids import CallId
from recobro.storage.db import make_engine, make_sessionmaker
from recobro.storage.migrate import upgrade_engine
from recobro.storage.models import AgentRow, AgentSkillRow, CampaignAgentRow, CampaignRow
from recobro.storage.repositories.agents import AgentRepository
from recobro.telephony.clock import LoopClock
from recobro.telephony.port import OriginateRequest

SECRET = "bench-token-secret-0123456789"  # noqa: S105  # a throw-away server


class NullPort:
    async def originate(self, request: OriginateRequest) -> None: ...

    async def hangup(self, call_id: CallId, *, reason: str = "") -> None: ...

    async def connect_to_agent(self, call_id: CallId, agent: str) -> None: ...

    async def play_and_hangup(self, call_id: CallId, message: str) -> None: ...

    async def events(self) -> AsyncIterator[CallEvent]:  # pragma: no cover
        if False:
            yield

    async def close(self) -> None: ...


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def _seed(url: str, n: int) -> list[int]:
    db = make_engine(url)
    await upgrade_engine(db)
    hashed = PasswordHasher().hash("bench-password")  # one hash for all: argon2 is slow on purpose
    now = datetime.now(UTC)
    async with make_sessionmaker(db)() as s, s.begin():
        await s.execute(insert(CampaignRow).values(id=1, name="bench", created_at=now, retry={}, required_skills=[],
                                                   overflow=[], script="", abandon_message=""))
        await s.execute(insert(AgentRow), [
            {"id": i, "username": f"a{i:04d}", "display_name": f"Agent {i}", "role": "agent",
             "password_hash": hashed, "languages": ["es"], "active": True} for i in range(1, n + 1)])
        await s.execute(insert(AgentSkillRow), [{"agent_id": i, "skill": "es", "level": 5} for i in range(1, n + 1)])
        await s.execute(insert(CampaignAgentRow), [{"campaign_id": 1, "agent_id": i} for i in range(1, n + 1)])
    await db.dispose()
    return list(range(1, n + 1))


class ServerThread:
    """The API on its own loop in a thread; ``call`` runs a coroutine there and waits."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self.db = make_engine(self.url)
        sessions = make_sessionmaker(self.db)
        self.bus = LocalBus()
        self.acd = AcdService(port=NullPort(), store=AgentRepository(sessions), clock=LoopClock(), bus=self.bus)
        self.acd.add_campaign(CampaignTerms(1, ("es",)))
        self.auth = Authenticator(sessions, secret=SECRET, ttl_seconds=3600)
        svc = DesktopServices(campaigns=_NoCampaigns(), agents=self.acd, auth=self.auth, acd=self.acd,
                              sessions=sessions, db=self.db, clock=LoopClock(), bus=self.bus,
                              limits=Limits(callbacks_seconds=3600, ready_grace_seconds=3600))
        self.app = create_app(svc)
        self.server = _Server(uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                             ws_ping_interval=None))
        task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:
            await asyncio.sleep(0.01)
        self.ready.set()
        await task
        await self.app.state.agent_hub.close()
        await self.acd.close()
        await self.db.dispose()

    def start(self) -> None:
        self.thread.start()
        self.ready.wait(30)

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(120)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(setattr, self.server, "should_exit", True)
        self.thread.join(30)


class _NoCampaigns:
    async def list_campaigns(self) -> list[dict[str, Any]]:
        return []

    def live_metrics(self, campaign_id: int) -> dict[str, Any]:
        return {}


def _pcts(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    v = sorted(values)

    def at(q: float) -> float:
        return round(v[min(len(v) - 1, int(q * len(v)))] * 1000, 3)

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": round(v[-1] * 1000, 3)}


async def _clients(srv: ServerThread, ids: list[int], rounds: int) -> dict[str, Any]:
    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    round_trips: list[float] = []
    expected: dict[int, str] = {}
    arrived: dict[int, asyncio.Event] = {i: asyncio.Event() for i in ids}
    started = time.perf_counter()
    tokens = {i: srv.auth.issue(agent_id=i, username=f"a{i:04d}", role="agent")[0] for i in ids}
    sockets = await asyncio.gather(*(websockets.connect(f"ws://127.0.0.1:{srv.port}/ws/agent?token={tokens[i]}",
                                                        open_timeout=60, max_queue=None) for i in ids))
    conns = dict(zip(ids, sockets, strict=True))
    for ws in sockets:  # the state on connect
        assert json.loads(await ws.recv())["type"] == "state"
    connect_seconds = time.perf_counter() - started

    async def reader(i: int, ws: Any) -> None:
        async for raw in ws:
            msg = json.loads(raw)
            if msg.get("type") == "state" and msg.get("state") == expected.get(i):
                if i in sent_at:
                    latencies.append(time.perf_counter() - sent_at.pop(i))
                arrived[i].set()

    readers = [asyncio.create_task(reader(i, ws)) for i, ws in conns.items()]

    async def burst(action: str) -> None:  # on the server's loop: every agent moved at once
        for i in ids:
            sent_at[i] = time.perf_counter()
            await (srv.acd.ready(i) if action == "ready" else srv.acd.pause(i, "break"))

    changes = 0
    for r in range(rounds):
        action = "ready" if r % 2 == 0 else "pause"
        for i in ids:
            expected[i] = "ready" if action == "ready" else "paused"
            arrived[i].clear()
        await asyncio.get_running_loop().run_in_executor(None, srv.call, burst(action))
        await asyncio.wait_for(asyncio.gather(*(arrived[i].wait() for i in ids)), 60)
        changes += len(ids)
    sample = ids[: min(50, len(ids))]  # the agent's own round trip, a few agents one after another
    for r in range(4):
        for i in sample:
            want = "paused" if (rounds + r) % 2 == 1 else "ready"
            expected[i] = want
            arrived[i].clear()
            t0 = time.perf_counter()
            await conns[i].send(json.dumps({"type": "pause", "reason": "break"} if want == "paused"
                                           else {"type": "ready"}))
            await asyncio.wait_for(arrived[i].wait(), 10)
            round_trips.append(time.perf_counter() - t0)
    for t in readers:
        t.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {"connected": len(sockets), "connect_seconds": round(connect_seconds, 2), "state_changes": changes,
            "delivered": len(latencies), "latency_ms": _pcts(latencies),
            "agent_round_trip_ms": _pcts(round_trips), "round_trips": len(round_trips)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="recobro-ws-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        ids = asyncio.run(_seed(url, args.agents))
        srv = ServerThread(url)
        srv.start()
        try:
            result = asyncio.run(_clients(srv, ids, args.rounds))
        finally:
            srv.stop()
    print(json.dumps({"bench": "ws_fanout", "agents": args.agents, "rounds": args.rounds, **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
