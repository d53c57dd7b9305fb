"""The whole platform (``build_platform`` with RECOBRO_TELEPHONY=asterisk) on the sandbox's Asterisk.

Debtors are sipp phones of every kind (one process per kind stands for all its numbers), agents
are sipp softphones that auto-answer (one process per agent), reached through the
``agent-phones`` endpoint. The database is a fresh SQLite file seeded with the demo's people
(sim01..simNN, extensions 3001..), the campaign "demo" and one account per planned number. The
wall clock starts at 12:00 in Mexico City today and then runs in real time, so compliance lets
every number be dialed at any hour the test runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import statistics
import subprocess
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
import websockets
from sqlalchemy import select, update

from asterisk_config import phones as sipp
from recobro.runtime.demo_seed import seed_demo, sim_username
from recobro.runtime.settings import Settings
from recobro.runtime.wiring import Platform, ServeOptions, build_platform
from recobro.storage.db import make_engine, make_sessionmaker
from recobro.storage.migrate import upgrade_engine
from recobro.storage.models import AccountRow, AgentRow, CallRow, CampaignAccountRow, CampaignRow, PhoneRow
from tests.e2e.ami_phones import ami_config
from tests.e2e.conftest import REPO, RunningAsterisk

MX = ZoneInfo("America/Mexico_City")
PASSWORD = "demo-pass"
SECRET = "e2e-token-secret-0123456789"
DEMO_TOML = REPO / "recobro" / "telephony" / "sim" / "demo.toml"
ABANDON_SAYS = "Le llamamos de Recobro."
EXPECTED = {  # phone kind -> the outcomes its calls may end with
    "person": {"connected", "abandoned"},
    "machine": {"machine"},
    "busy": {"busy"},
    "ring": {"no_answer"},
    "reject": {"invalid"},
}


def extension(i: int) -> str:
    return f"{3000 + i}"


def plan(counts: dict[str, int]) -> list[str]:
    """The kinds of the numbers in dialing order, interleaved (ring-outs early: they last 15 s)."""
    pools = {k: n for k, n in counts.items()}
    order = ["ring", "person", "machine", "busy", "person", "reject"]
    out: list[str] = []
    while any(pools.values()):
        for kind in order:
            if pools.get(kind):
                pools[kind] -= 1
                out.append(kind)
    return out


def noon_today() -> datetime:
    return datetime.combine(datetime.now(MX).date(), time(12, 0), tzinfo=MX).astimezone(UTC)


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(p) - 1]


def install_abandon_sound(asterisk: RunningAsterisk, campaign_id: int, audio_dir: Path) -> None:
    """The campaign's abandon message as the PBX's sound ``abandon-<id>`` (what the prompts
    renderer would provide in production), so the abandon path plays the message."""
    out = audio_dir / f"abandon-{campaign_id}.ulaw"
    if not out.exists():
        wav = out.with_suffix(".wav")
        subprocess.run(["espeak-ng", "-v", "es-419", "-w", str(wav), ABANDON_SAYS], check=True, capture_output=True)
        subprocess.run(["sox", str(wav), "-r", "8000", "-c", "1", "-t", "ul", str(out)], check=True,
                       capture_output=True)
    sounds = asterisk.sandbox.root / "usr" / "share" / "asterisk" / "sounds"
    for folder in (sounds, sounds / "es", sounds / "en"):
        if folder.is_dir():
            (folder / out.name).write_bytes(out.read_bytes())


@dataclass
class Rig:
    platform: Platform
    numbers: dict[str, str]  # E.164 -> phone kind
    base: str
    agent_ids: dict[str, int] = field(default_factory=dict)  # username -> id

    async def login(self, username: str) -> str:
        async with httpx2.AsyncClient(base_url=f"http://{self.base}") as client:
            r = await client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            return str(r.json()["token"])

    def ws(self, token: str) -> Any:
        return websockets.connect(f"ws://{self.base}/ws/agent?token={token}", open_timeout=5, close_timeout=2)

    async def wait_done(self, total: int, timeout: float) -> None:
        """Until ``total`` calls ended and none is live."""
        engine = self.platform.engine
        async with asyncio.timeout(timeout):
            while engine.counts.ended < total or engine.live_calls():
                await asyncio.sleep(0.1)

    async def calls(self) -> list[CallRow]:
        await self.platform.engine.flush()
        async with self.platform.sessions() as s:
            return list((await s.execute(select(CallRow).order_by(CallRow.queued_at))).scalars())


async def _seed(db_url: str, kinds: list[str], agents: int) -> tuple[dict[str, str], dict[str, int]]:
    db = make_engine(db_url)
    await upgrade_engine(db)
    sessions = make_sessionmaker(db)
    now = noon_today()
    seeded = await seed_demo(sessions, sim_agents=agents, company="Recobro Cobranza", callback_number="+525511112222",
                             now=now, password=PASSWORD)
    numbers: dict[str, str] = {}
    ids: dict[str, int] = {}
    async with sessions() as s, s.begin():
        await s.execute(update(CampaignRow).where(CampaignRow.id == seeded.campaign_id).values(
            mode="predictive", no_answer_timeout_seconds=15, window_start="00:00", window_end="23:59"))
        for i in range(1, agents + 1):
            await s.execute(update(AgentRow).where(AgentRow.username == sim_username(i))
                            .values(extension=extension(i)))
        for row in (await s.execute(select(AgentRow))).scalars():
            ids[row.username] = row.id
        for i, kind in enumerate(kinds):
            e164 = f"+52557{i:07d}"
            numbers[e164] = kind
            acc = AccountRow(
                external_ref=f"E2E-{i:03d}", debtor_name=f"Deudor {i}", balance=Decimal("1200.00"), currency="MXN",
                due_date=date(2026, 1, 15), days_past_due=40, state="MX-CMX", content_hash=f"h{i}",
                risk_score=Decimal(1000 - i), created_at=now, updated_at=now,
            )
            acc.phones.append(PhoneRow(e164=e164, position=1, type="mobile", time_zones=["America/Mexico_City"]))
            s.add(acc)
            await s.flush()
            s.add(CampaignAccountRow(campaign_id=seeded.campaign_id, account_id=acc.id))
    await db.dispose()
    return numbers, ids


def _scenario(tmp: Path) -> Path:
    """The demo scenario with short talks and wrap-ups (the simulated agents' habits)."""
    text = DEMO_TOML.read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        if line.startswith("talk_seconds"):
            line = 'talk_seconds = { dist = "uniform", low = 1.5, high = 2.5 }'
        elif line.startswith("wrap_seconds"):
            line = 'wrap_seconds = { dist = "uniform", low = 0.2, high = 0.4 }'
        lines.append(line)
    path = tmp / "e2e.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def running_campaign(
    asterisk: RunningAsterisk, debtors: dict[str, sipp.SippPhone], agent_phones: list[sipp.SippPhone],
    tmp: Path, kinds: list[str], *, sim_agents: int, audio_dir: Path, **overrides: Any,
) -> AsyncIterator[Rig]:
    """The platform serving on a free port, its simulated agents seated; stopped afterwards."""
    agents = len(agent_phones)
    db_url = f"sqlite+aiosqlite:///{tmp / 'e2e.sqlite3'}"
    numbers, ids = await _seed(db_url, kinds, agents)
    by_ext = {extension(i + 1): phone for i, phone in enumerate(agent_phones)}
    settings = Settings.model_validate({"database_url": db_url, "data_dir": tmp, "telephony": "asterisk",
                                        "token_secret": SECRET})
    options = ServeOptions(
        campaign="demo", sim_agents=sim_agents, scenario=_scenario(tmp), wall_start=noon_today(),
        dial=lambda e164: debtors[numbers[e164]].dial_string(e164.lstrip("+")),
        agent_dial=lambda ext: by_ext[ext].dial_string(ext, endpoint="agent-phones"),
        ami=ami_config(asterisk), agent_check_seconds=0.5, **overrides,
    )
    platform = await build_platform(settings, options)
    install_abandon_sound(asterisk, platform.engine.id, audio_dir)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"127.0.0.1:{sock.getsockname()[1]}"
    try:
        await platform.start(sockets=[sock])
        while not (platform._server and platform._server.started):
            await asyncio.sleep(0.02)
        yield Rig(platform, numbers, base, ids)
    finally:
        await platform.stop()
        sock.close()


async def desk_agent(rig: Rig, username: str, pops: list[dict[str, Any]], *, talk: float = 1.5) -> None:
    """A person at the desktop over /ws/agent: ready, takes each screen pop, hangs up, disposes."""
    token = await rig.login(username)
    agent_id = rig.agent_ids[username]
    async with rig.ws(token) as ws:
        legs = rig.platform.legs
        assert legs is not None
        await _next(ws, lambda m: m.get("type") == "state" and m.get("state") == "paused")
        assert await legs.wait_seated([agent_id], 10.0), "the desk agent's phone never joined the bridge"
        await ws.send(json.dumps({"type": "ready", "v": 1}))
        while True:
            pop = await _next(ws, lambda m: m.get("type") == "screen_pop", timeout=None)
            pops.append(pop)
            await asyncio.sleep(talk)
            await ws.send(json.dumps({"type": "hangup", "call_id": pop["call_id"]}))
            await _next(ws, lambda m: m.get("type") == "state" and m.get("state") == "wrap_up")
            await ws.send(json.dumps({"type": "disposition", "v": 1, "call_id": pop["call_id"], "code": "refused",
                                      "notes": "e2e", "idempotency_key": f"{pop['call_id']}:e2e"}))
            await _next(ws, lambda m: m.get("type") == "disposition_saved")


async def _next(ws: Any, want: Any, timeout: float | None = 10.0) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        while True:
            msg = json.loads(await ws.recv())
            if want(msg):
                return dict(msg)

    return await asyncio.wait_for(wait(), timeout)
