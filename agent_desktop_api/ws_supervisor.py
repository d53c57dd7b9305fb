"""``/ws/supervisor``: the live wallboard and the campaign and agent controls.

Once a second (``Limits.metrics_seconds``) every supervisor socket gets one ``metrics``
message: per campaign being dialed, the engine's own figures (dial level, calls in flight,
answer and live-answer rates, abandonment of the run, queue length and oldest wait) plus the
abandonment of today and of the last 30 days from the database (refreshed every few seconds,
shared by all sockets) against the target; and every agent with state, reason and time in
state. Controls go through the engine's ``update(name, value, changed_by)`` — validated,
stored with who and when, obeyed from the next tick — and the ACD's force pause / log-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import WebSocket
from sqlalchemy import case, func, select

from agent_desktop_api.auth import Identity
from agent_desktop_api.schemas import AGENT_IN, SUPERVISOR_IN, VERSION, BadMessage, ControlIn, error_message, parse
from agent_desktop_api.services import DesktopServices
from agent_desktop_api.ws_common import Outbox, admit, receive_text
from recobro.domain.calls import Outcome
from recobro.domain.errors import DomainError, NotFound, ValidationError
from recobro.storage.models import CallRow, CampaignRow, DispositionRow, PromiseRow

log = logging.getLogger(__name__)
REFRESH_SECONDS = 5.0


class AbandonHistory:
    """Abandonment today and over 30 days per campaign, from the call rows, and each agent's
    promises to pay today (the agents table); cached a few seconds."""

    def __init__(self, svc: DesktopServices) -> None:
        self._svc = svc
        self._at = -1e9
        self._rates: dict[int, dict[str, float | None]] = {}
        self.promises: dict[int, int] = {}  # agent id -> promises recorded today (as of the last refresh)
        self.names: dict[int, str] = {}  # campaign id -> name
        self._lock = asyncio.Lock()

    async def rates(self) -> dict[int, dict[str, float | None]]:
        async with self._lock:
            if time.monotonic() - self._at >= REFRESH_SECONDS and self._svc.sessions and self._svc.clock:
                try:
                    self._rates = await self._query(self._svc.clock.wall())
                    self.promises, self.names = await self._agents_today(self._svc.clock.wall())
                except Exception:  # the wallboard keeps its live figures through a database hiccup
                    log.exception("abandonment history")
                self._at = time.monotonic()
            return self._rates

    async def _query(self, now: datetime) -> dict[int, dict[str, float | None]]:
        assert self._svc.sessions is not None
        today = self._today(now)
        out: dict[int, dict[str, float | None]] = {}
        async with self._svc.sessions() as s:
            for key, since in (("today", today), ("days_30", now - timedelta(days=30))):
                abandoned = func.sum(case((CallRow.outcome == Outcome.ABANDONED.value, 1), else_=0))
                people = func.sum(case((CallRow.outcome.in_([Outcome.ABANDONED.value, Outcome.CONNECTED.value]), 1),
                                       else_=0))
                q = (select(CallRow.campaign_id, abandoned, people).where(CallRow.ended_at >= since)
                     .group_by(CallRow.campaign_id))
                for campaign_id, ab, ppl in (await s.execute(q)).all():
                    if campaign_id is None:
                        continue
                    out.setdefault(int(campaign_id), {})[key] = round(int(ab or 0) / int(ppl), 4) if ppl else None
        return out


    def _today(self, now: datetime) -> datetime:
        return now.astimezone(ZoneInfo(self._svc.zone)).replace(hour=0, minute=0, second=0, microsecond=0)

    async def _agents_today(self, now: datetime) -> tuple[dict[int, int], dict[int, str]]:
        """Promises to pay recorded today per agent, and the campaigns' names."""
        assert self._svc.sessions is not None
        q = (select(DispositionRow.agent_id, func.count(PromiseRow.id))
             .join(DispositionRow, DispositionRow.id == PromiseRow.disposition_id)
             .where(PromiseRow.created_at >= self._today(now), DispositionRow.agent_id.is_not(None))
             .group_by(DispositionRow.agent_id))
        async with self._svc.sessions() as s:
            promises = {int(agent_id): int(n) for agent_id, n in (await s.execute(q)).all() if agent_id is not None}
            names = {int(cid): str(name) for cid, name in (await s.execute(select(CampaignRow.id, CampaignRow.name)))}
        return promises, names


class SupervisorHub:
    def __init__(self, svc: DesktopServices) -> None:
        self.svc = svc
        self.history = AbandonHistory(svc)

    async def metrics(self, only: set[int] | None = None) -> dict[str, Any]:
        svc = self.svc
        rates = await self.history.rates()
        campaigns = []
        for campaign_id, engine in sorted(svc.engines.items()):
            if only and campaign_id not in only:
                continue
            m = engine.metrics()
            past = rates.get(campaign_id, {})
            m["abandon_rate_today"] = past.get("today")
            m["abandon_rate_30d"] = past.get("days_30")
            m["abandon"] = {"run": m.get("abandon_rate_run"), "today": m["abandon_rate_today"],
                            "days_30": m["abandon_rate_30d"], "target": m.get("target_abandon_rate")}
            m.pop("type", None)
            campaigns.append(m)
        agents = svc.acd.agents_view() if svc.acd is not None else []
        if svc.acd is not None:  # the agents table shows each agent's campaigns and promises today
            names = {**self.history.names, **{cid: engine.campaign.name for cid, engine in svc.engines.items()}}
            campaigns_of = {p.id: p.campaigns for p in svc.acd.profiles()}
            for agent in agents:
                ids = campaigns_of.get(agent["agent_id"], frozenset())
                agent["campaigns"] = sorted(names.get(cid, str(cid)) for cid in ids)
                agent["promises"] = self.history.promises.get(agent["agent_id"], 0)
        return {"type": "metrics", "v": VERSION, "at": svc.clock.wall().isoformat() if svc.clock else None,
                "campaigns": campaigns, "agents": agents}


async def serve_supervisor(ws: WebSocket) -> None:
    svc: DesktopServices = ws.app.state.services
    hub: SupervisorHub = ws.app.state.supervisor_hub
    who = await admit(ws, svc, "supervisor")
    if who is None:
        return
    await SupervisorSocket(ws, who, hub).run()


class SupervisorSocket:
    def __init__(self, ws: WebSocket, who: Identity, hub: SupervisorHub) -> None:
        self.ws = ws
        self.who = who
        self.hub = hub
        self.svc = hub.svc
        self.out = Outbox(ws, maxsize=50)
        self.only: set[int] = set()

    async def run(self) -> None:
        self.out.start()
        ticker = asyncio.create_task(self._tick(), name="supervisor-metrics")
        try:
            while True:
                raw = await receive_text(self.ws)
                if raw is None:
                    break
                await self.handle(raw)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await self.out.close()

    async def _tick(self) -> None:
        while True:
            try:
                self.out.put(await self.hub.metrics(self.only))
            except Exception:
                log.exception("supervisor metrics")
            await asyncio.sleep(self.svc.limits.metrics_seconds)

    async def handle(self, raw: str | bytes) -> None:
        try:
            msg = parse(raw, SUPERVISOR_IN, AGENT_IN, limit=self.svc.limits.ws_message_bytes, role="supervisor")
        except BadMessage as exc:
            self.out.put(exc.as_message())
            return
        kind = str(getattr(msg, "type", ""))
        try:
            if kind == "ping":
                self.out.put({"type": "pong", "v": VERSION})
            elif kind == "subscribe":
                self.only = set(getattr(msg, "campaign_ids", []))
                self.out.put(await self.hub.metrics(self.only))
            elif isinstance(msg, ControlIn):
                result = await self._control(msg)
                self.out.put({"type": "control_ok", "v": VERSION, "action": msg.action, **result})
                self.out.put(await self.hub.metrics(self.only))
        except DomainError as exc:
            self.out.put(error_message(exc.code, exc.message, field=getattr(exc, "field", None), request_type=kind))
        except Exception:
            log.exception("supervisor %s: %s failed", self.who.username, kind)
            self.out.put(error_message("internal", "Error interno / Internal error", request_type=kind))

    async def _control(self, msg: ControlIn) -> dict[str, Any]:
        by = self.who.username
        if msg.action in ("force_pause", "force_logout"):
            acd = self.svc.acd
            if acd is None:
                raise NotFound("El ACD no está disponible / The ACD is not available", code="unavailable")
            agent_id = self._agent_id(msg)
            if msg.action == "force_pause":
                reason = msg.reason or ("meeting" if "meeting" in acd.pause_reasons else acd.pause_reasons[0])
                st = await acd.force_pause(agent_id, reason, by=by)
            else:
                st = await acd.force_logout(agent_id, by=by)
            return {"agent_id": agent_id, "state": st.state.value, "pending": st.pending.value if st.pending else None}
        if msg.campaign_id is None:
            raise ValidationError("Falta el campo 'campaign_id' / Missing field 'campaign_id'", field="campaign_id")
        engine = self.svc.engines.get(msg.campaign_id)
        if engine is None:
            raise NotFound(f"La campaña {msg.campaign_id} no se está marcando / "
                           f"Campaign {msg.campaign_id} is not being dialed", code="campaign_not_running")
        changes: dict[str, object] = {}
        if msg.action == "set":
            for name in ("mode", "target_abandon_rate", "max_dial_ratio"):
                value = getattr(msg, name)
                if value is not None:
                    changes[name] = value
            if not changes:
                raise ValidationError("Nada que cambiar / Nothing to change: mode, target_abandon_rate, max_dial_ratio",
                                      field="action")
        else:
            changes["paused"] = msg.action == "pause"
        for name, value in changes.items():  # one by one: each change is validated and stored on its own
            await engine.update(name, value, by)
        c = engine.campaign
        return {"campaign_id": msg.campaign_id, "changed": sorted(changes),
                "campaign": {"mode": c.mode.value, "target_abandon_rate": c.target_abandon_rate,
                             "max_dial_ratio": c.max_dial_ratio, "paused": c.paused}}

    def _agent_id(self, msg: ControlIn) -> int:
        assert self.svc.acd is not None
        for profile in self.svc.acd.profiles():
            if profile.id == msg.agent_id or (msg.agent is not None and profile.username == msg.agent):
                return profile.id
        raise NotFound(f"Agente desconocido / Unknown agent: {msg.agent or msg.agent_id}", code="agent_not_found")
