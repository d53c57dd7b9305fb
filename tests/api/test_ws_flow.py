"""The whole desk over the wired platform: SimulatedPbx at 10x, the predictive engine, the ACD,
real uvicorn and real websocket clients.

An agent logs in and goes ready, a simulated person who answers is routed to the agent with
the campaign's skill (not to the one without it), the screen pop arrives, the agent hangs up
and dispositions a promise to pay, and the promise is in the database. A supervisor changes
the target abandon rate and the next metrics message shows it.
"""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from recobro.runtime.settings import Settings
from recobro.runtime.wiring import ServeOptions, build_platform
from recobro.storage.db import make_engine, make_sessionmaker
from recobro.storage.models import CallRow, CampaignChangeRow, CampaignRow, DispositionRow, PromiseRow
from tests.api.helpers import NOON_CDMX, SECRET, Desk, next_of, seeded_db, state_of


async def _prepare(tmp_path: Path) -> Settings:
    db, sessions, campaign_id = await seeded_db(tmp_path)
    async with sessions() as s, s.begin():  # only agents with "en" may take this campaign's calls
        await s.execute(update(CampaignRow).where(CampaignRow.id == campaign_id)
                        .values(required_skills=["en"], wrap_up_limit_seconds=3600))
    await db.dispose()
    return Settings.model_validate({"database_url": f"sqlite+aiosqlite:///{tmp_path / 'api.sqlite3'}",
                                    "data_dir": tmp_path, "token_secret": SECRET})


async def test_a_call_reaches_the_skilled_agent_who_records_a_promise_and_the_supervisor_steers(
    tmp_path: Path,
) -> None:
    settings = await _prepare(tmp_path)
    platform = await build_platform(settings, ServeOptions(campaign="demo", sim_agents=0, speed=10.0,
                                                           wall_start=NOON_CDMX))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"127.0.0.1:{sock.getsockname()[1]}"
    await platform.start(sockets=[sock])
    d = Desk(base, platform.acd, None, platform.clock, platform.sessions, platform.engine.id)  # type: ignore[arg-type]
    try:
        while not (platform._server and platform._server.started):
            await asyncio.sleep(0.02)
        skilled, unskilled = await d.login("sim02"), await d.login("sim01")  # sim02 speaks "en"
        async with d.ws("/ws/agent", skilled["token"]) as ws, d.ws("/ws/agent", unskilled["token"]) as other:
            for w in (ws, other):
                await state_of(w, "paused")
                await w.send(json.dumps({"type": "ready", "v": 1}))
                await state_of(w, "ready")
            pop = await next_of(ws, "screen_pop", timeout=40)
            account = pop["account"]
            assert pop["call_id"] and pop["number"].startswith("+")
            assert Decimal(account["balance"]) > 0 and account["days_past_due"] >= 0
            assert {"last_payments", "last_dispositions", "promises", "script", "campaign"} <= set(pop)
            await ws.send(json.dumps({"type": "hangup", "call_id": pop["call_id"]}))  # the debtor may be first
            await state_of(ws, "wrap_up", timeout=20)
            today = platform.clock.wall().astimezone(ZoneInfo("America/Mexico_City")).date()
            amount = min(Decimal(account["balance"]), Decimal("150.00"))
            await ws.send(json.dumps({
                "type": "disposition", "v": 1, "call_id": pop["call_id"], "code": "promise_to_pay",
                "promise_amount": f"{amount:.2f}", "promise_date": (today + timedelta(days=3)).isoformat(),
                "notes": "Promete pagar / promises to pay", "idempotency_key": f"{pop['call_id']}:ptp",
            }))
            saved = await next_of(ws, "disposition_saved", timeout=10)
            assert saved["promise"]["amount"] == f"{amount:.2f}"
            while True:  # the unskilled agent never saw a call
                try:
                    msg = json.loads(await asyncio.wait_for(other.recv(), 0.05))
                except TimeoutError:
                    break
                assert msg["type"] != "screen_pop"
            assert platform.acd.status(unskilled["agent_id"]).state.value == "ready"

        sup = await d.token("supervisor")
        async with d.ws("/ws/supervisor", sup) as ws:
            first = await next_of(ws, "metrics")
            demo = next(c for c in first["campaigns"] if c["campaign_id"] == d.campaign_id)
            assert demo["target_abandon_rate"] == 0.03 and "abandon_rate_today" in demo
            assert {a["username"] for a in first["agents"]} == {"sim01", "sim02"}
            await ws.send(json.dumps({"type": "control", "v": 1, "campaign_id": d.campaign_id, "action": "set",
                                      "target_abandon_rate": 0.02}))
            ok = await next_of(ws, "control_ok", "error")
            assert ok["type"] == "control_ok" and ok["campaign"]["target_abandon_rate"] == 0.02
            after = await next_of(ws, "metrics")
            demo = next(c for c in after["campaigns"] if c["campaign_id"] == d.campaign_id)
            assert demo["target_abandon_rate"] == 0.02 and demo["abandon"]["target"] == 0.02
    finally:
        await platform.stop()
        sock.close()
    db = make_engine(settings.effective_database_url)
    try:
        async with make_sessionmaker(db)() as s:
            disp = (await s.execute(select(DispositionRow).where(DispositionRow.id == saved["disposition_id"]))
                    ).scalar_one()
            promise = (await s.execute(select(PromiseRow).where(PromiseRow.disposition_id == disp.id))).scalar_one()
            change = (await s.execute(select(CampaignChangeRow))).scalars().all()
    finally:
        await db.dispose()
    assert (disp.agent_id, disp.call_id, disp.code) == (skilled["agent_id"], pop["call_id"], "promise_to_pay")
    assert promise.amount == amount and promise.account_id == account["id"] and promise.status == "pending"
    assert [(c.field, c.old_value, c.new_value, c.changed_by) for c in change] == [
        ("target_abandon_rate", "0.03", "0.02", "supervisor")]


async def test_a_preview_call_dialed_by_the_agent_rings_through_the_pbx_and_is_recorded(tmp_path: Path) -> None:
    settings = await _prepare(tmp_path)
    db = make_engine(settings.effective_database_url)
    async with make_sessionmaker(db)() as s, s.begin():  # the predictive engine stays quiet
        await s.execute(update(CampaignRow).values(paused=True))
    await db.dispose()
    platform = await build_platform(settings, ServeOptions(campaign="demo", sim_agents=0, speed=10.0,
                                                           wall_start=NOON_CDMX))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await platform.start(sockets=[sock])
    d = Desk(f"127.0.0.1:{sock.getsockname()[1]}", platform.acd, None, platform.clock,  # type: ignore[arg-type]
             platform.sessions, platform.engine.id)
    dialed: list[str] = []
    try:
        while not (platform._server and platform._server.started):
            await asyncio.sleep(0.02)
        me = await d.login("sim02")
        async with d.ws("/ws/agent", me["token"]) as ws:
            await state_of(ws, "paused")
            talked = None
            for _ in range(8):  # some debtors do not answer: the next preview, until one does
                await ws.send(json.dumps({"type": "preview_request"}))
                preview = await next_of(ws, "preview")
                await ws.send(json.dumps({"type": "preview_dial", "account_id": preview["account"]["id"]}))
                started = await next_of(ws, "dial_started", "error")
                assert started["type"] == "dial_started", started
                dialed.append(started["call_id"])
                assert platform.acd.assignment(me["agent_id"]) is None or (
                    platform.acd.assignment(me["agent_id"]).call_id == started["call_id"])  # type: ignore[union-attr]
                st = await next_of(ws, "state", timeout=20)  # held (reserved) while it rings, then the outcome
                while st["state"] == "reserved":
                    assert st["call"]["call_id"] == started["call_id"]
                    st = await next_of(ws, "state", timeout=60)
                if st["state"] == "on_call":
                    talked = preview
                    break
                await ws.send(json.dumps({"type": "pause", "reason": "break"}))  # back from ready
                await state_of(ws, "paused")
            assert talked is not None, "no debtor answered eight preview calls"
            await ws.send(json.dumps({"type": "hangup"}))
            await state_of(ws, "wrap_up", timeout=20)
            await ws.send(json.dumps({"type": "manual_dial", "account_id": talked["account"]["id"]}))
            refused = await next_of(ws, "error")
            assert refused["error"] == "not_idle"  # in wrap-up: dispose first
            await ws.send(json.dumps({"type": "disposition", "code": "refused", "idempotency_key": dialed[-1]}))
            await next_of(ws, "disposition_saved")
            await ws.send(json.dumps({"type": "manual_dial", "account_id": talked["account"]["id"]}))
            again = await next_of(ws, "error", "dial_started")
            assert again["type"] == "error" and again["error"] == "compliance_refused" and again["rule"]
    finally:
        await platform.stop()
        sock.close()
    db = make_engine(settings.effective_database_url)
    try:
        async with make_sessionmaker(db)() as s:
            rows = (await s.execute(select(CallRow).where(CallRow.id.in_(dialed)))).scalars().all()
    finally:
        await db.dispose()
    assert {r.mode for r in rows} == {"manual"} and len(rows) == len(dialed)
    assert all(r.agent_id == me["agent_id"] and r.ended_at is not None for r in rows)
    assert rows and any(r.connected_at is not None for r in rows)
