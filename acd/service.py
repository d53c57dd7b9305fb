"""The ACD: agents' states, who takes each person, the bridge, wrap-up and disposition.

The asyncio shell around ``acd.states`` (the agent state machine) and ``acd.routing`` (who
takes a call). A person offered by the dialer goes to the ready agent who works the campaign
and has its skills, ranked by the campaign's routing rule (best level in the first required
skill then longest idle, or longest idle only); with nobody ready the offer waits (first come,
first served) until an agent becomes ready or the dialer's deadline passes. The PBX's events
move the agent: bridged -> talking, call ended -> wrap-up (or back to ready if the bridge
never happened). The agent (a person at the desktop, or a simulated one) hangs up and disposes
through this service; the disposition is validated by ``recobro.domain.dispositions``.

Every change of state is written as an ``AgentStateChangeRow`` (in order, off the hot path)
and published on the bus under ``agent.<id>``, which is what an agent's desktop listens to.

Pauses carry a reason code from the floor's list (``pause_reasons``); a campaign may limit
wrap-up (``set_wrap_up_limit``): when the limit runs out the agent goes back to ready, or to a
pause, as the campaign says. A supervisor may force a pause (applied after the call, like the
agent's own) or a log-out (at once: the call in hand is hung up).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from acd.ports import AgentProfile, AgentStore, Assignment, CallOffer, CampaignTerms, FloorView
from acd.routing import ReadyAgent, Requirements, choose
from acd.states import BUSY, DEFAULT_PAUSE_REASONS, AgentAction, AgentState, AgentStatus, apply
from recobro.bus import Bus
from recobro.domain.accounts import Account
from recobro.domain.dispositions import Disposition, validate_disposition
from recobro.domain.errors import Conflict, DomainError, NotFound, ValidationError
from recobro.domain.events import CallBridged, CallEnded, CallEvent
from recobro.domain.floor import Observation, Seen
from recobro.domain.ids import CallId
from recobro.storage.writer import OrderedWriter
from recobro.telephony.clock import Clock, Handle
from recobro.telephony.port import TelephonyPort

log = logging.getLogger(__name__)

ObservationListener = Callable[[int, Observation], None]


@dataclass(slots=True)
class _Agent:
    profile: AgentProfile
    status: AgentStatus
    assignment: Assignment | None = None
    ready_seconds: float = 0.0
    busy_seconds: float = 0.0
    logged_seconds: float = 0.0
    calls: int = 0
    wrap_timer: Handle | None = None


@dataclass(slots=True)
class _Waiting:
    offer: CallOffer
    future: asyncio.Future[int | None]


class AcdService:
    """See the module docstring. One per process; agents and campaigns are registered by the runtime."""

    def __init__(
        self,
        *,
        port: TelephonyPort,
        store: AgentStore,
        clock: Clock,
        bus: Bus | None = None,
        local_zone: str = "America/Mexico_City",
        pause_reasons: Sequence[str] = DEFAULT_PAUSE_REASONS,
    ) -> None:
        self._port = port
        self._store = store
        self._clock = clock
        self._bus = bus
        self._zone = ZoneInfo(local_zone)
        self._agents: dict[int, _Agent] = {}
        self._by_call: dict[str, int] = {}
        self._campaigns: dict[int, CampaignTerms] = {}
        self._waiting: list[_Waiting] = []
        self._listeners: list[ObservationListener] = []
        self._writer = OrderedWriter("acd")
        self._sends: set[asyncio.Task[None]] = set()
        self._wrap_limits: dict[int, tuple[float, bool]] = {}  # campaign -> (seconds, pause after)
        self.pause_reasons: tuple[str, ...] = tuple(pause_reasons)
        self.dispositions = 0

    # --- registration -----------------------------------------------------------------------

    def add_campaign(self, terms: CampaignTerms) -> None:
        self._campaigns[terms.campaign_id] = terms

    def set_wrap_up_limit(self, campaign_id: int, seconds: float | None, *, then_pause: bool = False) -> None:
        """Limit wrap-up on ``campaign_id`` (None: no limit); after it, ready or paused (``wrap_up_limit``)."""
        if seconds is None:
            self._wrap_limits.pop(campaign_id, None)
        elif seconds <= 0:
            raise ValidationError("el límite de cierre debe ser positivo / the wrap-up limit must be positive",
                                  field="wrap_up_limit_seconds", value=seconds)
        else:
            self._wrap_limits[campaign_id] = (float(seconds), then_pause)

    def wrap_up_limit(self, campaign_id: int) -> float | None:
        found = self._wrap_limits.get(campaign_id)
        return None if found is None else found[0]

    def add_agent(self, profile: AgentProfile) -> None:
        if profile.id in self._agents:
            self._agents[profile.id].profile = profile
        else:
            self._agents[profile.id] = _Agent(profile=profile, status=AgentStatus(since=self._clock.now()))

    def on_observation(self, listener: ObservationListener) -> None:
        """Called with (campaign id, observation) for what the pacing learns from agents (wrap-up)."""
        self._listeners.append(listener)

    # --- reading ----------------------------------------------------------------------------

    def status(self, agent_id: int) -> AgentStatus:
        return self._get(agent_id).status

    def known(self, agent_id: int) -> bool:
        return agent_id in self._agents

    def seconds_in_state(self, agent_id: int) -> float:
        return max(0.0, self._clock.now() - self._get(agent_id).status.since)

    def assignment(self, agent_id: int) -> Assignment | None:
        return self._get(agent_id).assignment

    def profiles(self) -> list[AgentProfile]:
        return [a.profile for a in self._agents.values()]

    def agents_view(self) -> list[dict[str, Any]]:
        """Every agent's state, for the supervisor's console."""
        now = self._clock.now()
        return [
            {
                "agent_id": a.profile.id,
                "username": a.profile.username,
                "name": a.profile.display_name,
                "display_name": a.profile.display_name,
                "state": a.status.state.value,
                "reason": a.status.reason,
                "seconds_in_state": round(now - a.status.since, 1),
                "pending": a.status.pending.value if a.status.pending else None,
                "call_id": a.status.call_id,
                "calls": a.calls,
            }
            for a in self._agents.values()
        ]

    def floor(self, campaign_id: int) -> FloorView:
        now = self._clock.now()
        logged = ready = leaving = 0
        talk: list[float] = []
        wrap: list[float] = []
        by_state: dict[str, int] = {}
        busy_s = logged_s = ready_s = 0.0
        calls = 0
        for a in self._agents.values():
            if not self._works(a, campaign_id):
                continue
            st = a.status
            b, lg, rd = a.busy_seconds, a.logged_seconds, a.ready_seconds
            if st.logged_in:
                spent = now - st.since
                lg += spent
                if st.state in BUSY:
                    b += spent
                elif st.state == AgentState.READY:
                    rd += spent
            busy_s, logged_s, ready_s, calls = busy_s + b, logged_s + lg, ready_s + rd, calls + a.calls
            if not st.logged_in:
                continue
            logged += 1
            by_state[st.state.value] = by_state.get(st.state.value, 0) + 1
            if st.leaving:
                leaving += 1
            elif st.state == AgentState.READY:
                ready += 1
            elif st.state in (AgentState.RESERVED, AgentState.ON_CALL):
                talk.append(st.since)
            elif st.state == AgentState.WRAP_UP:
                wrap.append(st.since)
        return FloorView(
            logged_in=logged,
            ready=ready,
            leaving=leaving,
            talk_started=talk,
            wrap_started=wrap,
            by_state=by_state,
            utilization=busy_s / logged_s if logged_s > 0 else None,
            mean_wait_seconds=ready_s / calls if calls else None,
        )

    # --- what agents do ---------------------------------------------------------------------

    async def login(self, agent_id: int) -> AgentStatus:
        return self._move(self._get(agent_id), AgentAction.LOGIN, reason="login")

    async def ready(self, agent_id: int) -> AgentStatus:
        return self._move(self._get(agent_id), AgentAction.READY, reason="ready")

    async def take_break(self, agent_id: int, reason: str = "break") -> AgentStatus:
        """Pause with a reason code of the floor's list (after the call when busy)."""
        agent = self._get(agent_id)
        self._check_reason(reason)
        return self._move(agent, AgentAction.PAUSE, reason=reason, pause_reason=reason)

    pause = take_break

    async def logout(self, agent_id: int) -> AgentStatus:
        return self._move(self._get(agent_id), AgentAction.LOGOUT, reason="logout")

    async def force_pause(self, agent_id: int, reason: str, *, by: str) -> AgentStatus:
        """A supervisor pauses an agent; a busy agent finishes the call first (nobody is cut off)."""
        agent = self._get(agent_id)
        self._check_reason(reason)
        if not agent.status.logged_in:
            raise Conflict("el agente no tiene sesión / the agent is not logged in", code="agent_logged_out")
        return self._move(agent, AgentAction.PAUSE, reason=f"forced {reason} by {by}", pause_reason=reason)

    async def force_logout(self, agent_id: int, *, by: str) -> AgentStatus:
        """A supervisor ends an agent's session now; a call being connected or talked is hung up."""
        agent = self._get(agent_id)
        if not agent.status.logged_in:
            raise Conflict("el agente no tiene sesión / the agent is not logged in", code="agent_logged_out")
        held, state = agent.assignment, agent.status.state
        agent.assignment = None
        self._cancel_wrap(agent)
        if held is not None:
            self._by_call.pop(held.call_id, None)
        after = self._move(agent, AgentAction.FORCE_LOGOUT, reason=f"forced logout by {by}")
        if held is not None and state in (AgentState.RESERVED, AgentState.ON_CALL):
            try:
                await self._port.hangup(CallId(held.call_id), reason="supervisor")
            except (DomainError, OSError) as exc:
                log.info("acd: hang-up of %s on forced logout failed: %s", held.call_id, exc)
        return after

    def _check_reason(self, reason: str) -> None:
        if reason not in self.pause_reasons:
            raise ValidationError(
                f"motivo de pausa desconocido / unknown pause reason {reason!r} ({', '.join(self.pause_reasons)})",
                field="reason", value=reason,
            )

    async def hangup(self, agent_id: int) -> None:
        """The agent ends the call in hand; the state follows when the PBX reports the end."""
        agent = self._get(agent_id)
        if agent.status.state != AgentState.ON_CALL or agent.status.call_id is None:
            raise Conflict(
                f"el agente no está en una llamada / agent is not on a call ({agent.status.state.value})",
                code="not_on_call",
            )
        await self._port.hangup(CallId(agent.status.call_id), reason="agent")

    async def account(self, agent_id: int) -> Account:
        """The account of the call in hand (the screen pop)."""
        held = self._get(agent_id).assignment
        if held is None:
            raise NotFound("el agente no tiene llamada / the agent holds no call", code="no_call")
        return await self._store.account(held.account_id)

    async def dispose(self, agent_id: int, disposition: Disposition, *, idempotency_key: str | None = None) -> int:
        """Record what came of the call in wrap-up; the agent is then ready (or leaves). Returns its id."""
        agent = self._get(agent_id)
        held = agent.assignment
        if agent.status.state != AgentState.WRAP_UP or held is None:
            raise Conflict(
                f"no hay llamada que calificar / no call to dispose ({agent.status.state.value})",
                code="nothing_to_dispose",
            )
        account = await self._store.account(held.account_id)
        terms = self._campaigns.get(held.campaign_id, CampaignTerms(held.campaign_id))
        now = self._clock.wall()
        validate_disposition(
            disposition,
            balance=account.balance,
            today=now.astimezone(self._zone).date(),
            horizon_days=terms.promise_horizon_days,
            now=now,
        )
        found = await self._store.save_disposition(
            disposition=disposition,
            account_id=held.account_id,
            agent_id=agent_id,
            call_id=held.call_id,
            campaign_id=held.campaign_id,
            number=held.number,
            currency=account.currency,
            idempotency_key=idempotency_key,
            at=now,
        )
        st = agent.status
        if st.state == AgentState.WRAP_UP and st.call_id == held.call_id:  # not disposed meanwhile
            wrap = self._clock.now() - st.since
            agent.assignment = None
            self._cancel_wrap(agent)
            self._move(agent, AgentAction.DISPOSE, call_id=held.call_id, reason=disposition.code.value)
            self.dispositions += 1
            seen = Observation(Seen.WRAP, self._clock.now(), wrap)
            for listener in self._listeners:
                listener(held.campaign_id, seen)
        return found

    async def hold_for_dial(self, agent_id: int, call: CallOffer) -> AgentProfile:
        """Hold a paused or ready agent for the call they dial themselves; returns who (their leg).

        The call then moves the agent like an offered one: bridged -> on call, ended before the
        bridge -> ready, ended after -> wrap-up. ``release_dial`` undoes it if the PBX refuses.
        """
        agent = self._get(agent_id)
        if agent.status.state not in (AgentState.READY, AgentState.PAUSED):
            raise Conflict(
                f"no se puede marcar en estado {agent.status.state.value} / cannot dial while "
                f"{agent.status.state.value}",
                code="not_idle",
            )
        agent.assignment = Assignment(agent_id=agent_id, call_id=call.call_id, campaign_id=call.campaign_id,
                                      account_id=call.account_id, number=call.number, offered_at=self._clock.now())
        self._move(agent, AgentAction.DIAL, call_id=call.call_id, reason="dial")
        self._by_call[call.call_id] = agent_id
        return agent.profile

    def release_dial(self, agent_id: int, call_id: str) -> None:
        self._release(self._get(agent_id), call_id)

    # --- what the dialer asks ---------------------------------------------------------------

    async def offer(self, offer: CallOffer, within: float, *, bridge: bool = True) -> int | None:
        """The agent who takes the person (bridged through the port), or None after ``within`` s.

        ``bridge=False``: only reserve the agent; the caller joins them another way (the IVR's
        own channel enters the agent's ConfBridge) and the caller's side reports the bridge and
        the end through ``handle`` (``CallBridged``, ``CallEnded``).
        """
        agent = self._pick(offer)
        if agent is None:
            loop = asyncio.get_running_loop()
            entry = _Waiting(offer, loop.create_future())
            self._waiting.append(entry)
            fut = entry.future

            def expire() -> None:
                if not fut.done():
                    fut.set_result(None)

            timer = self._clock.call_at(self._clock.now() + within, expire)
            try:
                chosen = await fut
            except asyncio.CancelledError:
                taken = fut.result() if fut.done() and not fut.cancelled() else None
                if taken is not None:  # an agent was reserved just as the dialer gave up
                    self._release(self._agents[taken], offer.call_id)
                raise
            finally:
                timer.cancel()
                if entry in self._waiting:
                    self._waiting.remove(entry)
            if chosen is None:
                return None
            agent = self._agents[chosen]
        else:
            self._reserve(agent, offer)
        if not bridge:
            return agent.profile.id
        try:
            await self._port.connect_to_agent(CallId(offer.call_id), agent.profile.leg)
        except asyncio.CancelledError:
            self._release(agent, offer.call_id)
            raise
        except (DomainError, OSError) as exc:
            log.info("acd: bridge of %s to %s failed: %s", offer.call_id, agent.profile.username, exc)
            self._release(agent, offer.call_id)
            return None
        return agent.profile.id

    async def handle(self, event: CallEvent) -> None:
        """A port event: a bridge puts the agent on the call, an end puts them in wrap-up."""
        agent_id = self._by_call.get(event.call_id)
        if agent_id is None:
            return
        agent = self._agents[agent_id]
        st = agent.status
        if isinstance(event, CallBridged) and st.state == AgentState.RESERVED:
            agent.calls += 1
            self._move(agent, AgentAction.CONNECT, call_id=event.call_id, reason="bridged")
        elif isinstance(event, CallEnded):
            self._by_call.pop(event.call_id, None)
            if st.state == AgentState.RESERVED:
                self._release(agent, event.call_id)
            elif st.state == AgentState.ON_CALL:
                self._move(agent, AgentAction.HANGUP, call_id=event.call_id, reason=event.cause.value)
                held = agent.assignment
                limit = self._wrap_limits.get(held.campaign_id) if held is not None else None
                if limit is not None:
                    self._cancel_wrap(agent)
                    agent.wrap_timer = self._clock.call_at(
                        self._clock.now() + limit[0], lambda: self._wrap_expired(agent, event.call_id, limit[1])
                    )

    # --- shutdown ---------------------------------------------------------------------------

    async def close(self, reason: str = "platform stopped") -> None:
        """Record every logged-in agent as logged out (the platform stops), then drain the writes."""
        now = self._clock.now()
        for agent in self._agents.values():
            self._cancel_wrap(agent)
            st = agent.status
            if st.logged_in:
                self._write_state(agent, st.state.value, AgentState.LOGGED_OUT.value, reason)
                agent.status = AgentStatus(since=now)
        for entry in self._waiting:
            if not entry.future.done():
                entry.future.set_result(None)
        await self._writer.close()

    async def flush(self) -> None:
        await self._writer.flush()

    # --- plumbing ---------------------------------------------------------------------------

    def _get(self, agent_id: int) -> _Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise NotFound(f"agente desconocido / unknown agent {agent_id}", code="agent_not_found")
        return agent

    def _works(self, agent: _Agent, campaign_id: int) -> bool:
        return not agent.profile.campaigns or campaign_id in agent.profile.campaigns

    def _pick(self, offer: CallOffer) -> _Agent | None:
        """The ready agent the campaign's routing rule prefers (``acd.routing``), or None."""
        terms = self._campaigns.get(offer.campaign_id, CampaignTerms(offer.campaign_id))
        skills = terms.required_skills if offer.skills is None else offer.skills
        need = Requirements(campaign_id=offer.campaign_id, skills=skills)
        ready = (
            ReadyAgent(a.profile.id, a.status.since, a.profile.skills, campaigns=a.profile.campaigns)
            for a in self._agents.values()
            if a.status.state == AgentState.READY
        )
        best = choose(ready, need, terms.routing_rule)
        return None if best is None else self._agents[best.id]

    def _reserve(self, agent: _Agent, offer: CallOffer) -> None:
        # The assignment first: the state message published by the move carries the call.
        agent.assignment = Assignment(
            agent_id=agent.profile.id,
            call_id=offer.call_id,
            campaign_id=offer.campaign_id,
            account_id=offer.account_id,
            number=offer.number,
            offered_at=self._clock.now(),
        )
        try:
            self._move(agent, AgentAction.RESERVE, call_id=offer.call_id, reason="offer")
        except DomainError:
            agent.assignment = None
            raise
        self._by_call[offer.call_id] = agent.profile.id

    def _release(self, agent: _Agent, call_id: str) -> None:
        if agent.status.state == AgentState.RESERVED and agent.status.call_id == call_id:
            agent.assignment = None
            self._by_call.pop(call_id, None)
            self._move(agent, AgentAction.RELEASE, call_id=call_id, reason="offer withdrawn")

    def _dispatch(self) -> None:
        """Give waiting people (oldest first) to agents who became ready."""
        for entry in list(self._waiting):
            if entry.future.done():
                continue
            agent = self._pick(entry.offer)
            if agent is None:
                continue
            self._reserve(agent, entry.offer)
            entry.future.set_result(agent.profile.id)
            self._waiting.remove(entry)

    def _cancel_wrap(self, agent: _Agent) -> None:
        if agent.wrap_timer is not None:
            agent.wrap_timer.cancel()
            agent.wrap_timer = None

    def _wrap_expired(self, agent: _Agent, call_id: str, then_pause: bool) -> None:
        """The campaign's wrap-up limit ran out before a disposition: ready or paused, no disposition."""
        agent.wrap_timer = None
        st = agent.status
        if st.state != AgentState.WRAP_UP or st.call_id != call_id:
            return
        agent.assignment = None
        action = AgentAction.WRAP_EXPIRED_PAUSE if then_pause else AgentAction.WRAP_EXPIRED
        self._move(agent, action, call_id=call_id, reason="wrap_up_limit", pause_reason="wrap_up_limit")

    def _move(
        self, agent: _Agent, action: AgentAction, *, call_id: str | None = None, reason: str, pause_reason: str = ""
    ) -> AgentStatus:
        before = agent.status
        now = self._clock.now()
        after = apply(before, action, now, call_id=call_id, reason=pause_reason)
        if after.state != before.state:
            spent = max(0.0, now - before.since)
            if before.logged_in:
                agent.logged_seconds += spent
            if before.state in BUSY:
                agent.busy_seconds += spent
            elif before.state == AgentState.READY:
                agent.ready_seconds += spent
            self._write_state(agent, before.state.value, after.state.value, reason)
        agent.status = after
        if after is not before:
            self._publish(agent)
        if after.state == AgentState.READY and self._waiting:
            self._dispatch()
        return after

    def _write_state(self, agent: _Agent, old: str, new: str, reason: str) -> None:
        at = self._clock.wall()
        agent_id = agent.profile.id
        self._writer.put(lambda: self._store.record_state(agent_id, old, new, reason, at))

    def _publish(self, agent: _Agent) -> None:
        if self._bus is None:
            return
        st, held = agent.status, agent.assignment
        message: dict[str, Any] = {
            "type": "state",
            "agent_id": agent.profile.id,
            "state": st.state.value,
            "reason": st.reason,
            "pending": st.pending.value if st.pending else None,
            "pending_reason": st.pending_reason,
            "wrap_up_limit_seconds": self.wrap_up_limit(held.campaign_id) if held is not None else None,
            "at": self._clock.wall().isoformat(),
            "call": None
            if held is None
            else {"call_id": held.call_id, "campaign_id": held.campaign_id, "account_id": held.account_id,
                  "number": held.number},
        }
        publish = getattr(self._bus, "publish_nowait", None)
        if publish is not None:
            publish(f"agent.{agent.profile.id}", message)
        else:
            task = asyncio.get_running_loop().create_task(self._bus.publish(f"agent.{agent.profile.id}", message))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)
