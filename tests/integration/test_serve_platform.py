"""The wired platform (``recobro serve``) on a temporary SQLite database and the simulated PBX.

The sample accounts are imported the way ``make demo`` does, the demo is seeded, and the whole
platform runs at 40x speed with 5 simulated agents for a few real seconds (a few minutes of
campaign time). Then the database must hold dispositions by those agents, promises within the
balance and the horizon, calls whose timestamps follow the call's life in order, and nothing
left open after the stop.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import select

from recobro.importing.pipeline import default_rules, prepare, store
from recobro.runtime.demo_seed import seed_demo
from recobro.runtime.settings import Settings
from recobro.runtime.wiring import ServeOptions, build_platform
from recobro.storage.db import make_engine, make_sessionmaker
from recobro.storage.migrate import upgrade_engine
from recobro.storage.models import (
    AccountRow,
    AgentRow,
    AgentStateChangeRow,
    CallbackRow,
    CallRow,
    DispositionRow,
    PromiseRow,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample" / "accounts-demo.csv"
NOON_CDMX = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)  # Wednesday 12:00 in Mexico City
STAMPS = ("queued_at", "dialed_at", "ringing_at", "answered_at", "amd_at", "connected_at", "ended_at")


async def _prepare_db(tmp_path: Path) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}"
    db = make_engine(url)
    try:
        await upgrade_engine(db)
        sessions = make_sessionmaker(db)
        seeded = await seed_demo(sessions, sim_agents=5, company="Cobranza Demo", callback_number="+525511112222",
                                 now=NOON_CDMX, password="demo-pass")
        assert seeded.campaign_created and seeded.supervisor_created and len(seeded.agents_created) == 5
        prepared = prepare(SAMPLE, default_rules("MX", NOON_CDMX.date()), report=tmp_path / "rejected.csv")
        summary = await store(prepared, db, campaign="demo", now=NOON_CDMX)
        assert summary.imported > 200
    finally:
        await db.dispose()
    return Settings.model_validate({"database_url": url, "data_dir": tmp_path})


async def _rows(settings: Settings, model: Any) -> list[Any]:
    db = make_engine(settings.effective_database_url)
    try:
        async with make_sessionmaker(db)() as s:
            return list((await s.execute(select(model))).scalars())
    finally:
        await db.dispose()


async def test_the_wired_platform_dispositions_calls_with_consistent_rows(tmp_path: Path) -> None:
    settings = await _prepare_db(tmp_path)
    platform = await build_platform(
        settings, ServeOptions(campaign="demo", sim_agents=5, speed=40.0, wall_start=NOON_CDMX)
    )
    assert platform.accounts > 200 and platform.simulated_wall
    published: list[tuple[str, dict[str, Any]]] = []
    async with platform.bus.subscribe("campaign.*") as sub:
        await platform.start()
        start = platform.clock.now()
        try:
            for _ in range(80):  # at most 8 real seconds (320 s of campaign time)
                await asyncio.sleep(0.1)
                if platform.acd.dispositions >= 5 and platform.clock.now() - start > 60:
                    break
        except BaseException:
            await platform.stop()
            raise
        while not sub.queue.empty():
            published.append(sub.queue.get_nowait())
    try:
        transport = httpx2.ASGITransport(app=platform.app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as client:
            login = await client.post("/api/auth/login", json={"username": "supervisor", "password": "demo-pass"})
            client.headers["Authorization"] = f"Bearer {login.json()['token']}"
            listed = (await client.get("/api/campaigns")).json()["campaigns"]
            metrics = (await client.get(f"/api/campaigns/{platform.engine.id}/metrics")).json()
    finally:
        await platform.stop()
    status = platform.status()
    # One metrics message a real second (every 40 s of campaign time at 40x) on the bus.
    assert len(published) >= 2 and {t for t, _ in published} == {f"campaign.{platform.engine.id}.metrics"}
    assert published[-1][1]["dials"] > 0 and "abandon_rate_run" in published[-1][1]
    assert status["dials"] > 0 and status["connects"] > 0

    (demo,) = [c for c in listed if c["name"] == "demo"]
    assert demo["running"] and demo["accounts"] == platform.accounts and demo["dials"] > 0
    assert metrics["campaign_id"] == platform.engine.id and metrics["dials"] >= demo["dials"]
    assert metrics["agents_logged_in"] == 5

    agents = {a.id: a.username for a in await _rows(settings, AgentRow)}
    dispositions = await _rows(settings, DispositionRow)
    assert len(dispositions) >= 5
    calls = {c.id: c for c in await _rows(settings, CallRow)}
    for d in dispositions:
        assert agents[d.agent_id].startswith("sim")
        call = calls[d.call_id]
        assert call.outcome == "connected" and call.agent_id == d.agent_id and call.account_id == d.account_id
        assert d.created_at >= call.ended_at

    # Every call is closed after the stop, and its timestamps follow its life.
    assert calls and all(c.state == "ended" and c.ended_at is not None and c.outcome for c in calls.values())
    for c in calls.values():
        present = [getattr(c, name) for name in STAMPS if getattr(c, name) is not None]
        assert present == sorted(present), (c.id, present)
        assert NOON_CDMX <= c.queued_at <= NOON_CDMX + timedelta(minutes=10)
        if c.outcome == "connected":
            assert None not in (c.answered_at, c.amd_at, c.connected_at) and c.agent_id in agents
            assert c.amd_verdict == "human"
        if c.outcome == "abandoned":
            assert c.answered_at is not None and c.connected_at is None
        if c.outcome == "machine":
            assert c.amd_verdict == "machine" and c.connected_at is None
        if c.outcome in ("busy", "invalid", "no_answer"):
            assert c.answered_at is None
    numbers = Counter(c.number for c in calls.values())
    # Retry delays (15 min for busy, more for the rest) outlast the run: no number was dialed twice.
    assert max(numbers.values()) == 1

    accounts = {a.id: a for a in await _rows(settings, AccountRow)}
    for p in await _rows(settings, PromiseRow):
        assert 0 < p.amount <= accounts[p.account_id].balance
        assert NOON_CDMX.date() < p.promised_for <= NOON_CDMX.date() + timedelta(days=30)
    for cb in await _rows(settings, CallbackRow):
        assert cb.due_at > NOON_CDMX and cb.number

    changes = await _rows(settings, AgentStateChangeRow)
    last: dict[int, str] = {}
    for ch in sorted(changes, key=lambda r: r.id):
        if ch.agent_id in last:
            assert ch.from_state == last[ch.agent_id]  # an unbroken chain of states per agent
        last[ch.agent_id] = ch.to_state
    assert len(last) == 5 and set(last.values()) == {"logged_out"}


async def test_serve_refuses_an_unknown_campaign(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
    settings = Settings.model_validate({"database_url": url, "data_dir": tmp_path})
    from recobro.domain.errors import NotFound

    with pytest.raises(NotFound, match="no such campaign"):
        await build_platform(settings, ServeOptions(campaign="nope", sim_agents=1))
