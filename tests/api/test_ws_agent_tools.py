"""The agent's other tools over the socket: callbacks (due and scheduled), preview, manual dial
inside the compliance rules (a refusal names the rule)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from agent_desktop_api.services import Limits
from recobro.storage.models import CallbackRow, DncNumberRow
from tests.api.helpers import desk, next_of, state_of
from tests.api.test_ws_faults import an_account


async def test_a_due_callback_is_pushed_and_a_new_one_is_stored(tmp_path: Path) -> None:
    async with desk(tmp_path, limits=Limits(callbacks_seconds=0.1)) as d:
        me = await d.login("sim01")
        account_id, number, _ = await an_account(d)
        async with d.sessions() as s, s.begin():
            s.add(CallbackRow(account_id=account_id, campaign_id=d.campaign_id, agent_id=me["agent_id"],
                              number=number, due_at=d.clock.wall() - timedelta(minutes=1), done=False))
        async with d.ws("/ws/agent", me["token"]) as ws:
            due = await next_of(ws, "callback_due")
            assert due["callback"]["account_id"] == account_id and due["callback"]["debtor_name"]
            later = (d.clock.wall() + timedelta(hours=3)).isoformat()
            await ws.send(json.dumps({"type": "schedule_callback", "account_id": account_id, "callback_at": later,
                                      "number": number}))
            made = await next_of(ws, "callback_scheduled")
            past = (d.clock.wall() - timedelta(hours=3)).isoformat()
            await ws.send(json.dumps({"type": "schedule_callback", "account_id": account_id, "callback_at": past}))
            assert (await next_of(ws, "error"))["field"] == "callback_at"
        async with d.sessions() as s:
            rows = (await s.execute(select(CallbackRow).where(CallbackRow.id == made["callback"]["id"]))).scalars()
            assert [(r.agent_id, r.campaign_id) for r in rows] == [(me["agent_id"], d.campaign_id)]


async def test_preview_then_manual_dial_is_checked_against_the_rules(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        me = await d.login("sim01")
        async with d.ws("/ws/agent", me["token"]) as ws:
            await state_of(ws, "paused")
            await ws.send(json.dumps({"type": "preview_request"}))
            preview = await next_of(ws, "preview")
            account_id, number = preview["account"]["id"], preview["number"]
            assert preview["call_id"] is None and number
            async with d.sessions() as s, s.begin():
                s.add(DncNumberRow(e164=number, reason="debtor asked", added_at=d.clock.wall()))
            await ws.send(json.dumps({"type": "manual_dial", "account_id": account_id, "number": number}))
            refused = await next_of(ws, "error")
            assert (refused["error"], refused["rule"]) == ("compliance_refused", "dnc.number")
            assert " / " in refused["message"]  # Spanish / English
            await ws.send(json.dumps({"type": "manual_dial", "account_id": account_id, "number": "+15550000000"}))
            assert (await next_of(ws, "error"))["field"] == "number"  # not a phone of the account
            await ws.send(json.dumps({"type": "preview_skip", "account_id": account_id}))
            await next_of(ws, "preview_skipped")
            await ws.send(json.dumps({"type": "preview_request"}))
            assert (await next_of(ws, "preview"))["account"]["id"] != account_id
