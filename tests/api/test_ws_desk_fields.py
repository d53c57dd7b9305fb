"""Fields the web pages need: the platform's clock in the screen pop and preview (the promise date
field is bounded by the server's day, not the browser's), who recorded each of the debtor's last
dispositions, each agent's campaigns and promises today in the supervisor's metrics."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from recobro.storage.models import DispositionRow, PromiseRow
from tests.api.helpers import desk, next_of, state_of
from tests.api.test_ws_faults import an_account, put_on_call

ZONE = ZoneInfo("America/Mexico_City")


async def test_the_screen_pop_and_the_preview_carry_the_platforms_clock(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        me = await d.login("sim01")
        async with d.ws("/ws/agent", me["token"]) as ws:
            await state_of(ws, "paused")
            await ws.send(json.dumps({"type": "preview_request"}))
            preview = await next_of(ws, "preview")
            now = datetime.fromisoformat(preview["now"])
            assert abs((now - d.clock.wall()).total_seconds()) < 5  # the simulated clock, 2026-03-04
            assert preview["today"] == d.clock.wall().astimezone(ZONE).date().isoformat() == "2026-03-04"
            other = await d.login("sim02")
            account_id, _, _ = await an_account(d)  # the account put_on_call offers
            async with d.sessions() as s, s.begin():
                s.add(DispositionRow(account_id=account_id, agent_id=other["agent_id"], code="callback",
                                     notes="Llamar el lunes", created_at=d.clock.wall() - timedelta(days=1)))
            await ws.send(json.dumps({"type": "ready"}))
            await state_of(ws, "ready")
            await put_on_call(d, me["agent_id"])
            pop = await next_of(ws, "screen_pop")
            assert pop["today"] == "2026-03-04" and datetime.fromisoformat(pop["now"]).tzinfo is not None
            assert [(x["agent_id"], x["agent_name"]) for x in pop["last_dispositions"]] == [
                (other["agent_id"], other["display_name"])]


async def test_the_agents_in_the_metrics_carry_their_campaigns_and_promises_today(tmp_path: Path) -> None:
    async with desk(tmp_path) as d:
        me = await d.login("sim01")
        boss = await d.login("supervisor")
        account_id, _, _ = await an_account(d)
        today = d.clock.wall()
        async with d.sessions() as s, s.begin():
            for created in (today, today - timedelta(days=2)):  # one today, one before today
                disp = DispositionRow(account_id=account_id, agent_id=me["agent_id"], code="promise_to_pay",
                                      notes="", created_at=created)
                s.add(disp)
                await s.flush()
                s.add(PromiseRow(account_id=account_id, disposition_id=disp.id, amount=Decimal("100.00"),
                                 currency="MXN", promised_for=date(2026, 3, 10), created_at=created))
        async with d.ws("/ws/agent", me["token"]) as ws:
            await state_of(ws, "paused")
            async with d.ws("/ws/supervisor", boss["token"]) as sup:
                metrics = await next_of(sup, "metrics")
                mine = [a for a in metrics["agents"] if a["agent_id"] == me["agent_id"]]
                assert len(mine) == 1
                assert mine[0]["campaigns"] == ["demo"]
                assert mine[0]["promises"] == 1
