"""The IVR inside the wired platform (``recobro serve`` on the simulated PBX): one call through the
real FastAGI port with the fake AGI peer, option 3, and the ACD's simulated agent with the
account's skill takes the caller in their ConfBridge, goes to wrap-up when the caller leaves and
disposes the call. Also: the AGI port already in use is a clean refusal, not a traceback.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ivr.flows.model import Outcome
from recobro.domain.errors import ValidationError
from recobro.runtime import cli
from recobro.runtime.demo_seed import seed_demo
from recobro.runtime.settings import Settings
from recobro.runtime.wiring import Platform, ServeOptions, build_platform
from recobro.storage.db import make_engine, make_sessionmaker
from recobro.storage.migrate import upgrade_engine
from recobro.storage.models import AgentRow, AgentSkillRow, AgentStateChangeRow, DispositionRow, IvrEventRow
from tests.ivr_agi_peer import PHONE, FakeAsterisk, seed_ivr
from tests.services import free_port

NOON_CDMX = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)  # Wednesday 12:00 in Mexico City


def _need_espeak() -> None:
    if shutil.which("espeak-ng") is None:
        if os.environ.get("RECOBRO_REQUIRE_SERVICES") == "1":
            pytest.fail("espeak-ng is not installed (Debian package espeak-ng)")
        pytest.skip("espeak-ng is not installed (Debian package espeak-ng)")


class AgentsPresent(FakeAsterisk):
    """Asterisk with every agent seated in their ConfBridge (what AgentSessions keeps on a real PBX)."""

    def _reply(self, words: list[str], queue: deque[str]) -> str:
        if words[:2] == ["GET", "VARIABLE"] and words[2].startswith("CONFBRIDGE_INFO(parties,"):
            return "200 result=1 (1)"
        return super()._reply(words, queue)


async def _prepare(tmp_path: Path) -> tuple[Settings, int, int]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'serve-ivr.sqlite3'}"
    db = make_engine(url)
    try:
        await upgrade_engine(db)
        sessions = make_sessionmaker(db)
        await seed_demo(sessions, sim_agents=2, company="Cobranza Demo", callback_number="+525511112222",
                        now=NOON_CDMX, password="demo-pass")
        account_id, ivr_campaign = await seed_ivr(sessions)  # the account's skill: "early"
        async with sessions() as s, s.begin():
            sim02 = (await s.execute(select(AgentRow).where(AgentRow.username == "sim02"))).scalar_one()
            s.add(AgentSkillRow(agent_id=sim02.id, skill="early", level=4))
    finally:
        await db.dispose()
    settings = Settings.model_validate(
        {"database_url": url, "data_dir": tmp_path, "agi_host": "127.0.0.1", "agi_port": free_port()}
    )
    return settings, account_id, ivr_campaign


async def _rows(platform: Platform, model: Any) -> list[Any]:
    async with platform.sessions() as s:
        return list((await s.execute(select(model).order_by(model.id))).scalars())


@pytest.mark.parametrize("direction", ["outbound", "inbound"])
async def test_ivr_option_3_reaches_the_simulated_agent_through_the_acd(tmp_path: Path, direction: str) -> None:
    """Outbound: the campaign's call c0ffee0001. Inbound: a known caller ID and the PIN; the call is
    Asterisk's uniqueid, which has no call row, so the agent's disposition carries no call id."""
    _need_espeak()
    settings, account_id, ivr_campaign = await _prepare(tmp_path)
    platform = await build_platform(
        settings, ServeOptions(campaign="demo", sim_agents=2, speed=20.0, wall_start=NOON_CDMX, ivr=True)
    )
    assert platform.ivr is not None
    await platform.start()
    try:
        sim02 = next(p for p in platform.acd.profiles() if p.username == "sim02")
        for _ in range(200):  # the simulated agents log in and go ready
            if platform.acd.floor(platform.engine.id).ready == 2:
                break
            await asyncio.sleep(0.02)
        if direction == "outbound":
            script = f"outbound?call_id=c0ffee0001&account_id={account_id}&campaign_id={ivr_campaign}&number={PHONE}"
            peer = AgentsPresent(keys=["1", "3"])  # "I am María Pérez", then "an agent"
            call_id: str | None = "c0ffee0001"
        else:
            script, call_id = "inbound", None
            peer = AgentsPresent(keys=[*"482913#", "3"])  # the PIN, then "an agent"
        caller = PHONE.removeprefix("+52") if direction == "inbound" else "unknown"
        await asyncio.wait_for(peer.run(platform.ivr.host, platform.ivr.port, script, caller_id=caller), 30)
        for _ in range(200):  # the script's task ends just after its HANGUP
            if platform.ivr.server.active == 0:
                break
            await asyncio.sleep(0.01)
        assert platform.ivr.app.outcomes == [Outcome.AGENT]
        assert peer.dialed == [f"recobro-agent-{sim02.leg},recobro-agent-bridge,recobro-debtor"]
        assert peer.variables["RECOBRO_ACCOUNT_ID"] == str(account_id)
        heard = " ".join(platform.ivr.cache.text_of(p) or "?" for p in peer.played)
        assert "Le comunicamos con un asesor. El tiempo estimado de espera es de un minuto." in heard
        for _ in range(500):  # the simulated agent wraps up and disposes the call
            if platform.acd.dispositions:
                break
            await asyncio.sleep(0.02)
        await platform.acd.flush()
        [disposition] = [d for d in await _rows(platform, DispositionRow) if d.agent_id == sim02.id]
        assert (disposition.account_id, disposition.call_id) == (account_id, call_id)
        moves = [(r.from_state, r.to_state, r.reason) for r in await _rows(platform, AgentStateChangeRow)
                 if r.agent_id == sim02.id]
        assert ("reserved", "on_call", "bridged") in moves and ("on_call", "wrap_up", "normal") in moves
        outcome_events = [e.value for e in await _rows(platform, IvrEventRow) if e.kind == "outcome"]
        assert outcome_events == ["agent"]
    finally:
        await platform.stop()


async def test_the_agi_port_in_use_is_a_clean_refusal(tmp_path: Path) -> None:
    _need_espeak()
    settings, _account, _campaign = await _prepare(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", settings.agi_port))
        taken.listen(1)
        platform = await build_platform(
            settings, ServeOptions(campaign="demo", sim_agents=1, speed=20.0, wall_start=NOON_CDMX, ivr=True)
        )
        with pytest.raises(ValidationError, match="RECOBRO_AGI_PORT"):
            await platform.start()
        await platform.stop()


def test_serve_says_the_agi_port_is_taken_and_exits(tmp_path: Path) -> None:
    _need_espeak()
    settings, _account, _campaign = asyncio.run(_prepare(tmp_path))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOBRO_")}
    env.update(RECOBRO_DATABASE_URL=settings.database_url, RECOBRO_DATA_DIR=str(tmp_path),
               RECOBRO_API_PORT=str(free_port()), RECOBRO_AGI_PORT=str(settings.agi_port))
    cli._register()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", settings.agi_port))
        taken.listen(1)
        result = CliRunner().invoke(cli.app, ["serve", "--sim-agents", "1"], env=env)
    assert result.exit_code == 2, result.output
    assert "No se puede escuchar el IVR (FastAGI)" in result.output and "--no-ivr" in result.output
    assert isinstance(result.exception, SystemExit)


async def test_the_prompts_path_asterisk_sees_comes_from_the_settings(tmp_path: Path) -> None:
    _need_espeak()
    settings, _account, _campaign = await _prepare(tmp_path)
    chrooted = settings.model_copy(update={"ivr_pbx_prompts": "/tmp/recobro/prompts"})
    for given, expected in ((chrooted, "/tmp/recobro/prompts"), (settings, str((tmp_path / "prompts").resolve()))):
        platform = await build_platform(
            given, ServeOptions(campaign="demo", sim_agents=0, speed=20.0, wall_start=NOON_CDMX, ivr=True)
        )
        try:
            assert platform.ivr is not None and platform.ivr.cache.pbx_directory == expected
        finally:
            await platform.stop()
