"""Bad input and faults on the websockets, against a real uvicorn server and real clients.

Each bad message gets an ``error`` naming the problem and the socket stays open (the next
message still works); only a client that is not authenticated (4401) or holds the wrong role
for the socket (4403) is closed. A socket that drops mid-call leaves the call with the agent,
and the same token gets state and screen pop back; a disposition retried with the same
idempotency key is stored once.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
import websockets
from sqlalchemy import func, select

from acd.ports import CallOffer
from agent_desktop_api.services import Limits
from recobro.domain.events import CallBridged, CallEnded, HangupCause
from recobro.domain.ids import CallId
from recobro.storage.models import AccountRow, AgentStateChangeRow, DispositionRow, PromiseRow
from tests.api.helpers import Desk, desk, next_of, state_of

CALL = "cafe0000cafe0001"


async def ready_agent(d: Desk, ws: Any) -> None:
    await state_of(ws, "paused")
    await ws.send(json.dumps({"type": "ready", "v": 1}))
    await state_of(ws, "ready")


async def an_account(d: Desk) -> tuple[int, str, str]:
    async with d.sessions() as s:
        row = (await s.execute(select(AccountRow).where(AccountRow.currency == "MXN").order_by(AccountRow.id)
                               .limit(1))).scalar_one()
        await s.refresh(row, ["phones"])
        return row.id, row.phones[0].e164, f"{row.balance:.2f}"


async def put_on_call(d: Desk, agent_id: int) -> tuple[int, str]:
    account_id, number, _ = await an_account(d)
    await d.add_call(CALL, account_id, number)
    assert await d.acd.offer(CallOffer(CALL, d.campaign_id, account_id, number), 2.0) == agent_id
    await d.acd.handle(CallBridged(CallId(CALL), d.clock.now(), agent="x"))
    return account_id, number


async def errors_then_alive(ws: Any, raw: str | bytes, code: str) -> dict[str, Any]:
    await ws.send(raw)
    err = await next_of(ws, "error")
    assert err["error"] == code, err
    await ws.send(json.dumps({"type": "ping"}))
    assert (await next_of(ws, "pong"))["v"] == 1  # the socket is still open and working
    return err


@pytest.mark.parametrize(
    ("raw", "code", "says"),
    [
        ("{not json", "malformed_json", "Malformed JSON"),
        ("[1, 2]", "not_an_object", "JSON object"),
        (json.dumps({"type": "teleport"}), "unknown_type", "Unknown message type: 'teleport'"),
        (json.dumps({"v": 1}), "invalid_message", "Missing field 'type'"),
        (json.dumps({"type": "pause"}), "invalid_message", "Missing field 'reason'"),
        (json.dumps({"type": "disposition", "code": "paid", "colour": "red"}), "invalid_message", "'colour'"),
        (json.dumps({"type": "ready", "v": 2}), "unsupported_version", "Unsupported version 2"),
        (json.dumps({"type": "control", "action": "pause", "campaign_id": 1}), "wrong_role", "not for role 'agent'"),
        (json.dumps({"type": "pause", "reason": "nap"}), "invalid", "unknown pause reason 'nap'"),
        (json.dumps({"type": "disposition", "code": "paid"}), "nothing_to_dispose", "no call to dispose"),
    ],
)
async def test_a_bad_agent_message_gets_an_error_naming_it_and_the_socket_stays_open(
    tmp_path: Path, raw: str, code: str, says: str
) -> None:
    async with desk(tmp_path) as d:
        async with d.ws("/ws/agent", await d.token("sim01")) as ws:
            await state_of(ws, "paused")
            err = await errors_then_alive(ws, raw, code)
            assert says in err["message"]


async def test_an_oversized_message_is_refused_and_the_socket_stays_open(tmp_path: Path) -> None:
    async with desk(tmp_path, limits=Limits(ws_message_bytes=16 * 1024)) as d:
        async with d.ws("/ws/agent", await d.token("sim01")) as ws:
            await state_of(ws, "paused")
            big = json.dumps({"type": "pause", "reason": "x" * 20_000})
            err = await errors_then_alive(ws, big, "too_large")
            assert "limit is 16384" in err["message"]
            await ws.send(json.dumps({"type": "ready"}))
            await state_of(ws, "ready")


async def test_a_bad_supervisor_message_gets_an_error_and_the_socket_stays_open(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        async with d.ws("/ws/supervisor", await d.token("supervisor")) as ws:
            await next_of(ws, "metrics")
            await errors_then_alive(ws, json.dumps({"type": "ready"}), "wrong_role")
            err = await errors_then_alive(ws, json.dumps({"type": "control", "action": "set", "campaign_id": 99,
                                                          "target_abandon_rate": 0.02}), "campaign_not_running")
            assert err["request_type"] == "control"
            await errors_then_alive(ws, json.dumps({"type": "control"}), "invalid_message")
            await errors_then_alive(ws, json.dumps({"type": "control", "action": "force_logout", "agent": "nobody"}),
                                    "agent_not_found")


@pytest.mark.parametrize("token", [None, "garbage", "abc.def"])
async def test_an_unauthenticated_socket_is_told_why_and_closed(tmp_path: Path, token: str | None) -> None:
    async with desk(tmp_path) as d:
        for path in ("/ws/agent", "/ws/supervisor"):
            async with d.ws(path, token) as ws:
                err = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert err["type"] == "error" and err["error"] == "unauthorized"
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 5)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_the_wrong_role_for_a_socket_is_closed_with_4403(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        for path, user in (("/ws/supervisor", "sim01"), ("/ws/agent", "supervisor")):
            async with d.ws(path, await d.token(user)) as ws:
                err = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert err["error"] == "wrong_role"
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 5)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_drop_mid_call_keeps_the_call_and_reconnecting_brings_state_and_screen_pop(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        me = await d.login("sim01")
        async with d.ws("/ws/agent", me["token"]) as ws:
            await ready_agent(d, ws)
            account_id, number = await put_on_call(d, me["agent_id"])
            pop = await next_of(ws, "screen_pop")
            assert (pop["call_id"], pop["account_id"], pop["number"]) == (CALL, account_id, number)
        await asyncio.sleep(0.5)  # longer than the ready grace: a call in hand is never taken away
        assert d.acd.status(me["agent_id"]).state.value == "on_call"
        async with d.ws("/ws/agent", me["token"]) as ws:
            st = await next_of(ws, "state")
            assert (st["state"], st["call"]["call_id"]) == ("on_call", CALL)
            again = await next_of(ws, "screen_pop")
            assert again["call_id"] == CALL and again["account"]["id"] == account_id
            await ws.send(json.dumps({"type": "hangup", "call_id": CALL}))
            await asyncio.sleep(0.1)
            assert d.port.hangups == [CALL]
            await d.acd.handle(CallEnded(CallId(CALL), d.clock.now(), cause=HangupCause.NORMAL))
            ended = await next_of(ws, "call_ended")
            assert ended["call_id"] == CALL


async def test_a_ready_agent_whose_desktop_is_gone_is_paused_after_the_grace(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        me = await d.login("sim01")
        async with d.ws("/ws/agent", me["token"]) as ws:
            await ready_agent(d, ws)
        await asyncio.sleep(0.8)
        status = d.acd.status(me["agent_id"])
        assert (status.state.value, status.reason) == ("paused", "technical")


async def test_a_disposition_sent_twice_with_the_same_key_is_stored_once(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        me = await d.login("sim01")
        async with d.ws("/ws/agent", me["token"]) as ws:
            await ready_agent(d, ws)
            await put_on_call(d, me["agent_id"])
            await d.acd.handle(CallEnded(CallId(CALL), d.clock.now(), cause=HangupCause.NORMAL))
            await state_of(ws, "wrap_up")
            when = (d.clock.wall() + timedelta(days=5)).date().isoformat()
            msg = {"type": "disposition", "v": 1, "call_id": CALL, "code": "promise_to_pay", "promise_amount": "10.00",
                   "promise_date": when, "notes": "paga el viernes", "idempotency_key": f"{CALL}:ptp"}
            await ws.send(json.dumps(msg))
            first = await next_of(ws, "disposition_saved")
            await ws.send(json.dumps(msg))  # the retry of a client that did not see the answer
            second = await next_of(ws, "disposition_saved")
        assert (first["duplicate"], second["duplicate"]) == (False, True)
        assert first["disposition_id"] == second["disposition_id"] and second["promise"]["amount"] == "10.00"
        async with d.sessions() as s:
            assert (await s.execute(select(func.count()).select_from(DispositionRow))).scalar_one() == 1
            assert (await s.execute(select(func.count()).select_from(PromiseRow))).scalar_one() == 1


async def test_another_agents_token_cannot_touch_the_call_and_every_move_is_stored(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        me = await d.login("sim01")
        other = await d.token("sim02")
        async with d.ws("/ws/agent", me["token"]) as mine, d.ws("/ws/agent", other) as theirs:
            await ready_agent(d, mine)
            await state_of(theirs, "paused")
            await put_on_call(d, me["agent_id"])
            await theirs.send(json.dumps({"type": "hangup", "call_id": CALL}))
            assert (await next_of(theirs, "error"))["error"] == "not_your_call"
            await theirs.send(json.dumps({"type": "disposition", "code": "refused", "call_id": CALL}))
            assert (await next_of(theirs, "error"))["error"] == "nothing_to_dispose"
            assert d.port.hangups == [] and d.acd.status(me["agent_id"]).state.value == "on_call"
        await d.acd.flush()
        async with d.sessions() as s:
            moves = (await s.execute(select(AgentStateChangeRow.to_state, AgentStateChangeRow.reason)
                                     .where(AgentStateChangeRow.agent_id == me["agent_id"])
                                     .order_by(AgentStateChangeRow.id))).all()
        assert [tuple(m) for m in moves] == [("paused", "login"), ("ready", "ready"), ("reserved", "offer"),
                                              ("on_call", "bridged")]


async def test_logging_out_ends_the_acd_session_and_a_new_wrap_up_limit_applies_live(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        me = await d.login("sim01")
        sup = await d.token("supervisor")
        async with httpx2.AsyncClient(base_url=f"http://{d.base}", headers={"Authorization": f"Bearer {sup}"}) as s:
            r = await s.patch(f"/api/campaigns/{d.campaign_id}", json={"wrap_up_limit_seconds": 30})
            assert r.status_code == 200 and d.acd.wrap_up_limit(d.campaign_id) == 30
        async with d.ws("/ws/agent", me["token"]) as ws:
            await ready_agent(d, ws)
            headers = {"Authorization": f"Bearer {me['token']}"}
            async with httpx2.AsyncClient(base_url=f"http://{d.base}", headers=headers) as a:
                assert (await a.post("/api/auth/logout")).json() == {"ok": True, "state": "logged_out"}
            await state_of(ws, "logged_out")
