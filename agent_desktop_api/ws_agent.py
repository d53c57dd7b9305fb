"""``/ws/agent``: one agent's desktop, live.

Theory of operation. The ACD is the source of truth; a socket is only a window on it. On
connect the agent is registered with the ACD if needed and logged in (paused until they say
ready), and gets its current ``state`` and, when a call is in hand, the ``screen_pop`` again —
so a reload or a dropped socket loses nothing: a socket that drops mid-call leaves the call
with the agent. The hub listens once to the bus (``agent.*``) and hands each state change to
the sockets of that agent, which turn it into ``state``, ``screen_pop`` (first time a call is
seen) and ``call_ended`` messages. A ready agent whose last socket has been gone for
``ready_grace_seconds`` is paused (``technical``): nobody would answer the calls routed there.
What the agent sends is parsed by ``schemas.parse`` and acted on through ``AcdService``; the
agent's id always comes from the token, never from a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from fastapi import WebSocket

from acd.ports import AgentProfile
from acd.states import AgentState
from agent_desktop_api.auth import Identity
from agent_desktop_api.dialing import Dialing, refusal_message
from agent_desktop_api.records import Records
from agent_desktop_api.schemas import (
    AGENT_IN,
    SUPERVISOR_IN,
    VERSION,
    BadMessage,
    DispositionIn,
    HangupIn,
    ManualDialIn,
    PauseIn,
    PreviewRequestIn,
    PreviewSkipIn,
    ScheduleCallbackIn,
    error_message,
    parse,
)
from agent_desktop_api.services import DesktopServices
from agent_desktop_api.ws_common import Outbox, admit, receive_text
from recobro.domain.dispositions import Disposition, DispositionCode
from recobro.domain.errors import Conflict, DomainError, NotFound, ValidationError
from recobro.storage.repositories.agents import AgentRepository

if TYPE_CHECKING:
    from acd.service import AcdService

log = logging.getLogger(__name__)
ON_CALL = (AgentState.RESERVED.value, AgentState.ON_CALL.value)


class AgentHub:
    """Every agent socket of this process, by agent id; one bus subscription for all of them."""

    def __init__(self, svc: DesktopServices) -> None:
        self.svc = svc
        self._sockets: dict[int, set[AgentSocket]] = {}
        self._pump: asyncio.Task[None] | None = None
        self._graces: dict[int, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def attach(self, sock: AgentSocket) -> None:
        self._sockets.setdefault(sock.agent_id, set()).add(sock)
        grace = self._graces.pop(sock.agent_id, None)
        if grace is not None:
            grace.cancel()
        if self._pump is None and self.svc.bus is not None:
            self._pump = asyncio.create_task(self._listen(), name="agent-hub")

    def detach(self, sock: AgentSocket) -> None:
        left = self._sockets.get(sock.agent_id)
        if left is not None:
            left.discard(sock)
            if not left:
                del self._sockets[sock.agent_id]
                acd = self.svc.acd
                if acd is not None and acd.known(sock.agent_id) and acd.status(sock.agent_id).state == AgentState.READY:
                    loop = asyncio.get_running_loop()
                    self._graces[sock.agent_id] = loop.call_later(
                        self.svc.limits.ready_grace_seconds, self._grace_over, sock.agent_id)

    def connected(self, agent_id: int) -> int:
        return len(self._sockets.get(agent_id, ()))

    def _grace_over(self, agent_id: int) -> None:
        self._graces.pop(agent_id, None)
        acd = self.svc.acd
        if self._sockets.get(agent_id) or acd is None or acd.status(agent_id).state != AgentState.READY:
            return
        reason = "technical" if "technical" in acd.pause_reasons else acd.pause_reasons[0]
        task = asyncio.create_task(acd.pause(agent_id, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _listen(self) -> None:
        assert self.svc.bus is not None
        async with self.svc.bus.subscribe("agent.*") as sub:
            while True:
                topic, message = await sub.get()
                try:
                    agent_id = int(topic.split(".", 1)[1])
                except (IndexError, ValueError):
                    continue
                for sock in list(self._sockets.get(agent_id, ())):
                    sock.on_bus(message)

    async def close(self) -> None:
        for handle in self._graces.values():
            handle.cancel()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump


async def serve_agent(ws: WebSocket) -> None:
    svc: DesktopServices = ws.app.state.services
    hub: AgentHub = ws.app.state.agent_hub
    who = await admit(ws, svc, "agent")
    if who is None:
        return
    sock = AgentSocket(ws, who, svc, hub)
    await sock.run()


class AgentSocket:
    def __init__(self, ws: WebSocket, who: Identity, svc: DesktopServices, hub: AgentHub) -> None:
        self.ws = ws
        self.who = who
        self.agent_id = who.agent_id
        self.svc = svc
        self.hub = hub
        self.out = Outbox(ws)
        self._popped: str | None = None
        self._last_state: str | None = None
        self._last_call: str | None = None
        self._notified: set[int] = set()
        self._skipped: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- life ---------------------------------------------------------------------------------

    async def run(self) -> None:
        self.out.start()
        acd = self.svc.acd
        if acd is None:
            self.out.put(error_message("unavailable", "El ACD no está disponible / The ACD is not available"))
        else:
            try:
                await self._register(acd)
                self.hub.attach(self)
                if not acd.status(self.agent_id).logged_in:
                    await acd.login(self.agent_id)
                self.out.put(self.current_state(acd))
                held = acd.assignment(self.agent_id)
                if held is not None:
                    self._spawn(self._screen_pop(held.call_id, held.account_id, held.campaign_id, held.number))
                if self.svc.sessions is not None and self.svc.clock is not None:
                    self._spawn(self._watch_callbacks())
            except DomainError as exc:
                self.out.put(error_message(exc.code, exc.message))
        try:
            while True:
                raw = await receive_text(self.ws)
                if raw is None:
                    break
                await self.handle(raw)
        finally:
            self.hub.detach(self)
            for task in self._tasks:
                task.cancel()
            await self.out.close()

    async def _register(self, acd: AcdService) -> None:
        if acd.known(self.agent_id):
            return
        if self.svc.sessions is None:
            raise NotFound("agente desconocido / unknown agent", code="agent_not_found")
        found = await AgentRepository(self.svc.sessions).agents([self.who.username])
        if not found:
            raise NotFound("agente desconocido o inactivo / unknown or inactive agent", code="agent_not_found")
        rec = found[0]
        acd.add_agent(AgentProfile(id=rec.id, username=rec.username, display_name=rec.display_name,
                                   skills=rec.skills, campaigns=rec.campaigns, endpoint=rec.extension or ""))

    def _spawn(self, job: Any) -> None:
        task = asyncio.create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- server -> agent ----------------------------------------------------------------------

    def current_state(self, acd: AcdService) -> dict[str, Any]:
        st, held = acd.status(self.agent_id), acd.assignment(self.agent_id)
        secs = acd.seconds_in_state(self.agent_id)
        since = self.svc.clock.wall() - timedelta(seconds=secs) if self.svc.clock is not None else None
        self._last_state = st.state.value
        self._last_call = st.call_id
        return {
            "type": "state", "v": VERSION, "agent_id": self.agent_id, "state": st.state.value, "reason": st.reason,
            "pending": st.pending.value if st.pending else None, "pending_reason": st.pending_reason,
            "since": since.isoformat() if since else None, "seconds_in_state": round(secs, 1),
            "needs_disposition": st.state == AgentState.WRAP_UP,
            "wrap_up_limit_seconds": acd.wrap_up_limit(held.campaign_id) if held else None,
            "call": None if held is None else {"call_id": held.call_id, "campaign_id": held.campaign_id,
                                               "account_id": held.account_id, "number": held.number},
            "pause_reasons": list(acd.pause_reasons),
        }

    def on_bus(self, message: dict[str, Any]) -> None:
        """A state change of this agent, published by the ACD."""
        if message.get("type") != "state":
            return
        state = str(message.get("state"))
        call = message.get("call") or None
        before, before_call = self._last_state, self._last_call
        self._last_state = state
        self._last_call = call.get("call_id") if call else None
        self.out.put({
            "type": "state", "v": VERSION, "agent_id": self.agent_id, "state": state,
            "reason": message.get("reason", ""), "pending": message.get("pending"),
            "pending_reason": message.get("pending_reason", ""), "since": message.get("at"), "seconds_in_state": 0.0,
            "needs_disposition": state == AgentState.WRAP_UP.value,
            "wrap_up_limit_seconds": message.get("wrap_up_limit_seconds"), "call": call,
        })
        if before == AgentState.ON_CALL.value and state != before and before_call:
            self.out.put({"type": "call_ended", "v": VERSION, "call_id": before_call, "state": state})
        if call and state in ON_CALL and call.get("call_id") != self._popped:
            number = str(call.get("number") or "")
            self._popped = str(call["call_id"])
            self._spawn(self._screen_pop(self._popped, int(call["account_id"]), int(call["campaign_id"]), number))

    async def _screen_pop(self, call_id: str, account_id: int, campaign_id: int, number: str) -> None:
        self._popped = call_id
        if self.svc.sessions is None:
            return
        if not number and self.svc.acd is not None:
            held = self.svc.acd.assignment(self.agent_id)
            number = held.number if held is not None and held.call_id == call_id else ""
        try:
            pop = await Records(self.svc.sessions).screen_pop(account_id=account_id, campaign_id=campaign_id,
                                                              call_id=call_id, number=number,
                                                              agent_name=self.who.display_name)
        except DomainError as exc:
            self.out.put(error_message(exc.code, exc.message, request_type="screen_pop"))
            return
        if self.svc.acd is not None:
            pop["wrap_up_limit_seconds"] = self.svc.acd.wrap_up_limit(campaign_id) or pop["wrap_up_limit_seconds"]
        self.out.put({"type": "screen_pop", "v": VERSION, **pop, **self._today()})

    async def _watch_callbacks(self) -> None:
        assert self.svc.sessions is not None and self.svc.clock is not None
        records = Records(self.svc.sessions)
        while True:
            try:
                due = await records.callbacks(self.agent_id, until=self.svc.clock.wall(),
                                              exclude=sorted(self._notified))
            except Exception:  # a database hiccup: try again next round
                log.exception("callbacks of agent %s", self.agent_id)
                due = []
            for cb in due:
                self._notified.add(int(cb["id"]))
                self.out.put({"type": "callback_due", "v": VERSION, "callback": cb})
            await asyncio.sleep(self.svc.limits.callbacks_seconds)

    # --- agent -> server ----------------------------------------------------------------------

    async def handle(self, raw: str | bytes) -> None:
        try:
            msg = parse(raw, AGENT_IN, SUPERVISOR_IN, limit=self.svc.limits.ws_message_bytes, role="agent")
        except BadMessage as exc:
            self.out.put(exc.as_message())
            return
        kind = str(getattr(msg, "type", ""))
        acd = self.svc.acd
        try:
            if acd is None:
                raise Conflict("El ACD no está disponible / The ACD is not available", code="unavailable")
            await self._act(acd, kind, msg)
        except DomainError as exc:
            self.out.put(error_message(exc.code, exc.message, field=getattr(exc, "field", None), request_type=kind))
        except Exception:
            log.exception("agent %s: %s failed", self.agent_id, kind)
            self.out.put(error_message("internal", "Error interno / Internal error", request_type=kind))

    async def _act(self, acd: AcdService, kind: str, msg: Any) -> None:
        me = self.agent_id
        if kind == "ping":
            self.out.put({"type": "pong", "v": VERSION})
        elif kind == "ready":
            await acd.ready(me)
        elif kind == "pause":
            assert isinstance(msg, PauseIn)
            await acd.pause(me, msg.reason)
        elif kind == "logout":
            await acd.logout(me)
        elif kind == "hangup":
            assert isinstance(msg, HangupIn)
            held = acd.assignment(me)
            if msg.call_id is not None and (held is None or held.call_id != msg.call_id):
                raise Conflict("Esa llamada no es suya / That call is not yours", code="not_your_call")
            await acd.hangup(me)
        elif kind == "disposition":
            assert isinstance(msg, DispositionIn)
            await self._dispose(acd, msg)
        elif kind == "schedule_callback":
            assert isinstance(msg, ScheduleCallbackIn)
            await self._schedule(acd, msg)
        elif kind == "preview_request":
            assert isinstance(msg, PreviewRequestIn)
            await self._preview(acd, msg.campaign_id)
        elif kind == "preview_skip":
            assert isinstance(msg, PreviewSkipIn)
            self._skipped.add(msg.account_id)
            self.out.put({"type": "preview_skipped", "v": VERSION, "account_id": msg.account_id})
        elif kind in ("manual_dial", "preview_dial"):
            assert isinstance(msg, ManualDialIn)
            await self._dial(acd, msg, kind)

    async def _dispose(self, acd: AcdService, msg: DispositionIn) -> None:
        records = Records(self._sessions())
        if msg.idempotency_key:
            stored = await records.disposition_by_key(msg.idempotency_key, self.agent_id)
            if stored is not None:  # a retry after a drop: answer as the first time, store nothing
                self.out.put({"type": "disposition_saved", "v": VERSION, "disposition_id": stored["id"],
                              "duplicate": True, "call_id": stored["call_id"], "promise": stored["promise"]})
                return
        held = acd.assignment(self.agent_id)
        if msg.call_id is not None and held is not None and held.call_id != msg.call_id:
            raise Conflict("Esa llamada no es suya / That call is not yours", code="not_your_call")
        try:
            code = DispositionCode(msg.code)
        except ValueError:
            raise ValidationError(f"Código desconocido / Unknown disposition code '{msg.code}'", field="code") from None
        disp = Disposition(code=code, notes=msg.notes, promise_amount=msg.promise_amount,
                           promise_date=msg.promise_date, callback_at=msg.callback_at)
        call_id = held.call_id if held is not None else None
        disposition_id = await acd.dispose(self.agent_id, disp, idempotency_key=msg.idempotency_key)
        promise = None
        if code == DispositionCode.PROMISE_TO_PAY:
            promise = {"amount": f"{Decimal(msg.promise_amount or 0):.2f}",
                       "promised_for": msg.promise_date.isoformat() if msg.promise_date else None,
                       "status": "pending", "disposition_id": disposition_id}
        self.out.put({"type": "disposition_saved", "v": VERSION, "disposition_id": disposition_id,
                      "duplicate": False, "call_id": call_id, "promise": promise})

    async def _schedule(self, acd: AcdService, msg: ScheduleCallbackIn) -> None:
        now = self._wall()
        if msg.callback_at <= now:
            raise ValidationError("La hora de la devolución ya pasó / The callback time is in the past",
                                  field="callback_at")
        if msg.callback_at > now + timedelta(days=90):
            raise ValidationError("Devolución a más de 90 días / Callback more than 90 days ahead", field="callback_at")
        campaign_id = msg.campaign_id or self._campaign_of(acd)
        saved = await Records(self._sessions()).add_callback(agent_id=self.agent_id, account_id=msg.account_id,
                                                             campaign_id=campaign_id, number=msg.number,
                                                             due_at=msg.callback_at)
        self.out.put({"type": "callback_scheduled", "v": VERSION, "callback": saved})

    async def _preview(self, acd: AcdService, campaign_id: int | None) -> None:
        dialing = Dialing(self._sessions())
        campaign = await dialing.campaign(campaign_id or self._campaign_of(acd))
        verdict = await dialing.next_preview(campaign, self._wall(), skip=self._skipped)
        if verdict is None:
            self.out.put({"type": "preview", "v": VERSION, "account": None,
                          "message": "No hay cuentas que se puedan marcar ahora / No account may be dialed now"})
            return
        assert verdict.account.id is not None and campaign.id is not None
        pop = await Records(self._sessions()).screen_pop(account_id=int(verdict.account.id),
                                                         campaign_id=int(campaign.id), call_id=None,
                                                         number=verdict.number, agent_name=self.who.display_name)
        self.out.put({"type": "preview", "v": VERSION, **pop, **self._today()})

    async def _dial(self, acd: AcdService, msg: ManualDialIn, kind: str) -> None:
        state = acd.status(self.agent_id).state
        if state not in (AgentState.PAUSED, AgentState.READY):
            raise Conflict(f"No se puede marcar en estado {state.value} / Cannot dial while {state.value}",
                           code="not_idle")
        dialing = Dialing(self._sessions())
        campaign = await dialing.campaign(msg.campaign_id or self._campaign_of(acd))
        verdict = await dialing.check(msg.account_id, msg.number, campaign, self._wall())
        if not verdict.allowed:
            self.out.put(refusal_message(verdict, kind))
            return
        if self.svc.dialer is None:
            raise Conflict("La marcación manual no está disponible en esta central / "
                           "Manual dialing is not available on this PBX", code="manual_dial_unavailable")
        assert campaign.id is not None
        call_id = await self.svc.dialer.dial(agent_id=self.agent_id, account_id=msg.account_id,
                                             number=verdict.number, campaign_id=int(campaign.id))
        self.out.put({"type": "dial_started", "v": VERSION, "call_id": call_id, "account_id": msg.account_id,
                      "number": verdict.number})

    # --- helpers ------------------------------------------------------------------------------

    def _today(self) -> dict[str, str]:
        """The server's clock (simulated or real) and the date promises are checked against.

        The desktop bounds its promise date field with these rather than the browser's clock,
        which may be another day than the platform's (a simulated clock, a wrong PC clock).
        """
        if self.svc.clock is None:
            return {}
        now = self.svc.clock.wall()
        return {"now": now.isoformat(), "today": now.astimezone(ZoneInfo(self.svc.zone)).date().isoformat()}

    def _sessions(self) -> Any:
        if self.svc.sessions is None:
            raise Conflict("La base de datos no está disponible / The database is not available", code="unavailable")
        return self.svc.sessions

    def _wall(self) -> Any:
        if self.svc.clock is None:
            raise Conflict("El reloj no está disponible / The clock is not available", code="unavailable")
        return self.svc.clock.wall()

    def _campaign_of(self, acd: AcdService) -> int:
        held = acd.assignment(self.agent_id)
        if held is not None:
            return held.campaign_id
        for profile in acd.profiles():
            if profile.id == self.agent_id and profile.campaigns:
                return min(profile.campaigns)
        raise ValidationError("Indique la campaña / Say which campaign (campaign_id)", field="campaign_id")
