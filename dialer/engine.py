"""The campaign engine: the asyncio shell around the pacing strategy and the hopper.

Theory of operation. Every ``tick_seconds`` the engine describes the moment to the strategy
(a ``FloorSnapshot``: the ACD's agents of the campaign and the engine's own calls in flight),
takes as many numbers as it says from the hopper (compliance-checked and reserved, so no number
is dialed twice at once), writes a call row and originates through the telephony port. The
runtime's event pump hands it every port event (``handle``): the call moves along the domain
state machine (``recobro.domain.calls.advance``), its row gets the new timestamps, and the
strategy learns what happened (``Observation``). A person goes to the ACD (``AgentDesk.offer``);
nobody within ``connect_within_seconds`` means the abandon message and an abandoned outcome.
An answering machine is hung up on.

Everything the engine writes goes through one ordered writer task, so an event's update can
never overtake the insert of its call, and the event pump never waits for the database: the
2-second promise to a person does not depend on the disk. ``stop`` hangs up what is live, waits
for the ends, closes what the PBX did not end, and drains the writer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from dialer.campaign_settings import abandon_text, as_text, changed_campaign, strategy_for
from dialer.pacing import PacingStrategy, PredictiveStrategy
from dialer.ports import AgentDesk, CallLog, CampaignLog, NumberSource, PersonOffer
from dialer.selection import Pick
from recobro.bus import Bus
from recobro.compliance.history import Attempt
from recobro.domain.calls import Call, CallState, Outcome, advance
from recobro.domain.campaigns import Campaign, CampaignMode, RetryOutcome
from recobro.domain.errors import DomainError, InvalidTransition, ValidationError
from recobro.domain.events import (
    CallAmd,
    CallAnswered,
    CallBridged,
    CallDialing,
    CallEnded,
    CallEvent,
    HangupCause,
    PortDown,
    PortUp,
)
from recobro.domain.floor import FloorSnapshot, Observation, Seen
from recobro.domain.ids import CallId, new_call_id
from recobro.domain.text import has_control_chars
from recobro.storage.writer import OrderedWriter
from recobro.telephony.clock import Clock
from recobro.telephony.port import OriginateRequest, TelephonyPort

log = logging.getLogger(__name__)

_RETRY = {
    Outcome.BUSY: RetryOutcome.BUSY,
    Outcome.NO_ANSWER: RetryOutcome.NO_ANSWER,
    Outcome.MACHINE: RetryOutcome.MACHINE,
    Outcome.ABANDONED: RetryOutcome.ABANDONED,
    Outcome.INVALID: RetryOutcome.FAILED,
    Outcome.FAILED: RetryOutcome.FAILED,
}
_QUICK = frozenset({Outcome.BUSY, Outcome.INVALID, Outcome.FAILED})
_UNANSWERED = frozenset({CallState.QUEUED, CallState.DIALING, CallState.RINGING})
IVR_CONTEXT = "recobro-ivr"  # the dialplan entry of campaign mode ivr (AMD, then the IVR's FastAGI)
IVR_FLOW = "outbound"  # the IVR's script for a campaign call (ivr.app)


@dataclass(slots=True)
class _Live:
    call: Call
    pick: Pick
    account_id: int
    amd: bool
    agent_id: int | None = None
    route: asyncio.Task[None] | None = None
    abandoning: bool = False
    hung_up: bool = False
    ivr_outcome: str | None = None  # campaign mode ivr: what the IVR reported (promise_to_pay, ...)


@dataclass(slots=True)
class RunCounts:
    """What happened to the campaign's calls since the engine started."""

    dials: int = 0
    answered: int = 0  # a person or a machine
    unanswered: int = 0  # ended without an answer (no answer, busy, invalid, failed)
    live: int = 0  # people (AMD verdict human or unsure, or answered without AMD)
    machines: int = 0
    connects: int = 0
    abandoned: int = 0
    ended: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)


class CampaignEngine:
    """Dials one campaign; see the module docstring."""

    def __init__(
        self,
        campaign: Campaign,
        *,
        port: TelephonyPort,
        desk: AgentDesk,
        numbers: NumberSource,
        calls: CallLog,
        changes: CampaignLog,
        clock: Clock,
        bus: Bus | None = None,
        strategy: PacingStrategy | None = None,
        abandon_message: str = "",
        amd_false_positive: float = 0.0,
        tick_seconds: float = 0.25,
        metrics_seconds: float = 1.0,
    ) -> None:
        if campaign.id is None:
            raise ValidationError("la campaña no tiene id / the campaign has no id", field="campaign")
        self._campaign = campaign
        self.id = int(campaign.id)
        self._port = port
        self._desk = desk
        self._numbers = numbers
        self._calls = calls
        self._changes = changes
        self._clock = clock
        self._bus = bus
        self._amd_fp = amd_false_positive
        self._strategy = strategy or strategy_for(campaign, amd_false_positive=amd_false_positive)
        self.abandon_message = abandon_message or abandon_text(campaign)
        self.tick_seconds = tick_seconds
        self.metrics_seconds = metrics_seconds
        self.counts = RunCounts()
        self.held_back: dict[str, int] = {}  # numbers the last batch skipped, by rule
        self.nothing_to_dial = False  # the last batch found no number it may dial now
        self.pbx_down = False  # the port reported its link lost (PortDown) and not yet back (PortUp)
        self._live: dict[CallId, _Live] = {}
        # Calls of an ivr campaign that just ended: the IVR's outcome can arrive a moment after
        # the PBX reported the hang-up (two connections, two orders); it still belongs in the row.
        self._ended_ivr: OrderedDict[CallId, _Live] = OrderedDict()
        self._writer = OrderedWriter(f"campaign-{self.id}")
        self._stopping = False

    # --- public -----------------------------------------------------------------------------

    @property
    def campaign(self) -> Campaign:
        return self._campaign

    @property
    def strategy(self) -> PacingStrategy:
        return self._strategy

    def owns(self, call_id: str) -> bool:
        """A call of this campaign still up, or one of its IVR calls that just ended."""
        return call_id in self._live or call_id in self._ended_ivr

    def live_calls(self) -> int:
        return len(self._live)

    def observe(self, seen: Observation) -> None:
        """What the ACD saw of the campaign's agents (wrap-up times) also teaches the strategy."""
        self._strategy.observe(seen)

    def snapshot(self) -> FloorSnapshot:
        agents = self._desk.floor(self.id)
        ringing: list[float] = []
        analysing: list[float] = []
        waiting = 0
        for live in self._live.values():
            call = live.call
            if call.state in _UNANSWERED:
                ringing.append(call.dialed_at if call.dialed_at is not None else call.queued_at or 0.0)
            elif call.state == CallState.ANSWERED and live.amd:
                analysing.append(call.answered_at or 0.0)
            elif self._is_waiting(live):
                waiting += 1
        return FloorSnapshot(
            now=self._clock.now(),
            logged_in=agents.logged_in,
            ready=agents.ready,
            leaving=agents.leaving,
            talk_started=agents.talk_started,
            wrap_started=agents.wrap_started,
            machine_started=agents.machine_started,
            ringing_since=ringing,
            analysing_since=analysing,
            waiting=waiting,
        )

    async def tick(self) -> int:
        """Launch what the strategy asks for now; returns the number of calls originated."""
        campaign = self._campaign
        if self._stopping or campaign.paused or self.pbx_down:
            return 0  # a known-down PBX link: dialing now would only write FAILED rows
        floor = self.snapshot()
        wanted = self._strategy.launches(floor)
        if wanted <= 0:
            return 0
        ready_now = campaign.mode == CampaignMode.PROGRESSIVE and floor.ready > floor.in_flight
        batch = await self._numbers.take(wanted, campaign, self._clock.wall(), agent_ready_now=ready_now)
        self.held_back = batch.counts_by_rule()
        self.nothing_to_dial = not batch.picks
        launched = 0
        for pick in batch.picks:
            if self.pbx_down:  # learned mid-batch: the rest go back to the hopper undialed
                self._numbers.finished(pick, None)
                continue
            await self._launch(pick)
            launched += 1
        return launched

    async def handle(self, event: CallEvent) -> None:
        """One port event; events of calls the engine does not own are ignored.

        ``PortDown`` pauses originating until ``PortUp``: the calls in flight meanwhile are the
        port's to settle (it reconciles them after the reconnect and reports their ends).
        """
        if isinstance(event, PortDown | PortUp):
            self.pbx_down = isinstance(event, PortDown)
            log.warning("campaign %s: PBX link %s", self.id, "down, dialing paused" if self.pbx_down else "up again")
            return
        live = self._live.get(event.call_id)
        if live is None:
            return
        before = live.call
        try:
            after = self._advance(before, event)
        except InvalidTransition as exc:
            log.debug("campaign %s: %s", self.id, exc)
            return
        live.call = after
        if isinstance(event, CallEnded):
            await self._ended(live, before)
            return
        self._save(live)
        if self._campaign.mode == CampaignMode.IVR and isinstance(event, CallAnswered | CallAmd):
            self._count_ivr(event, after)  # the IVR has the call: no agent, no hang-up on a machine
            return
        if isinstance(event, CallAnswered):
            self.counts.answered += 1
            self._see(Seen.ANSWERED, after.answered_at, after.answered_at, after.dialed_at or after.queued_at)
            if not live.amd:
                self.counts.live += 1
                self._see(Seen.NEEDS_AGENT, after.answered_at, 0.0)
                self._start_route(live)
        elif isinstance(event, CallAmd):
            if after.state == CallState.HUMAN:
                self.counts.live += 1
                self._see(Seen.NEEDS_AGENT, after.amd_at, after.amd_at, after.answered_at)
                self._start_route(live)
            elif self._strategy.machines_to_agents():
                # AMD's mistakes would cost more of the abandon budget than the campaign has:
                # an agent takes what AMD calls a machine, so no misjudged person is hung up on.
                self.counts.machines += 1
                self._see(Seen.NEEDS_AGENT, after.amd_at, after.amd_at, after.answered_at)
                self._start_route(live)
            else:
                self.counts.machines += 1
                self._see(Seen.NO_AGENT_NEEDED, after.amd_at, after.amd_at, after.answered_at)
                await self._hangup_once(live, "machine")
        elif isinstance(event, CallBridged):
            self.counts.connects += 1
            self._see(Seen.CONNECTED, after.connected_at, after.connected_at, after.amd_at or after.answered_at)

    def ivr_outcome(self, call_id: str, outcome: str) -> None:
        """What the IVR made of a call of this campaign (mode ivr): it becomes the call's outcome.

        The IVR reports it before it hangs up, so the call is normally still live; a report that
        arrives just after the PBX's hang-up (recent calls are kept for that) rewrites the row.
        """
        live = self._live.get(CallId(call_id))
        if live is not None:
            live.ivr_outcome = outcome[:20]
            return
        ended = self._ended_ivr.pop(CallId(call_id), None)
        if ended is not None and ended.ivr_outcome is None:
            ended.ivr_outcome = outcome[:20]
            self._save(ended)

    async def update(self, name: str, value: object, changed_by: str) -> Campaign:
        """A live change: validated, stored with who and when, obeyed from the next tick."""
        who = changed_by.strip()
        if not who or len(who) > 100 or has_control_chars(who):
            raise ValidationError("falta quién hace el cambio / who makes the change is missing", field="changed_by")
        old = self._campaign
        new = changed_campaign(old, name, value)
        strategy = self._strategy
        if name == "mode" and new.mode != old.mode:
            strategy = strategy_for(new, amd_false_positive=self._amd_fp)
        await self._changes.apply_change(
            self.id, name, as_text(getattr(old, name)), as_text(getattr(new, name)), who, self._clock.wall()
        )
        if isinstance(strategy, PredictiveStrategy):
            strategy.set_target(new.target_abandon_rate)
            strategy.max_dial_ratio = new.max_dial_ratio
        self._campaign, self._strategy = new, strategy
        return new

    def metrics(self) -> dict[str, Any]:
        """The live figures of the campaign (published every second on ``campaign.<id>.metrics``)."""
        floor = self.snapshot()
        agents = self._desk.floor(self.id)
        c = self.counts
        decided = c.answered + c.unanswered
        people = c.live
        waits = [self._clock.now() - (lv.call.amd_at or lv.call.answered_at or 0.0)
                 for lv in self._live.values() if self._is_waiting(lv)]
        return {
            "type": "metrics",
            "campaign_id": self.id,
            "name": self._campaign.name,
            "mode": self._campaign.mode.value,
            "paused": self._campaign.paused,
            "at": self._clock.wall().isoformat(),
            "dials": c.dials,
            "answered": c.answered,
            "live_answers": people,
            "machine_answers": c.machines,
            "connects": c.connects,
            "abandoned": c.abandoned,
            "calls_in_flight": floor.in_flight,
            "queue_length": floor.waiting,
            "queue_oldest_wait_seconds": round(max(waits), 3) if waits else None,
            "dial_level": round(floor.in_flight / floor.logged_in, 4) if floor.logged_in else None,
            "max_dial_ratio": self._campaign.max_dial_ratio,
            "target_abandon_rate": self._campaign.target_abandon_rate,
            "answer_rate": round(c.answered / decided, 4) if decided else None,
            "live_answer_rate": round(people / decided, 4) if decided else None,
            "abandon_rate_run": round(c.abandoned / people, 4) if people else 0.0,
            "utilization": None if agents.utilization is None else round(agents.utilization, 4),
            "mean_wait_seconds": None if agents.mean_wait_seconds is None else round(agents.mean_wait_seconds, 2),
            "agents_logged_in": agents.logged_in,
            "agents_ready": agents.ready,
            "agents_by_state": dict(agents.by_state),
            "nothing_to_dial": self.nothing_to_dial,
            "pbx_down": self.pbx_down,
            "held_back": dict(self.held_back),
        }

    async def publish_metrics(self) -> None:
        if self._bus is not None:
            await self._bus.publish(f"campaign.{self.id}.metrics", self.metrics())

    async def run(self) -> None:
        """Tick until ``stop``; publish the metrics every ``metrics_seconds``."""
        next_metrics = self._clock.now()
        while not self._stopping:
            try:
                await self.tick()
            except DomainError as exc:
                log.warning("campaign %s: tick refused: %s", self.id, exc)
            except Exception:  # a database hiccup must not stop the campaign: the next tick retries
                log.exception("campaign %s: tick failed", self.id)
            if self._clock.now() >= next_metrics:
                await self.publish_metrics()
                next_metrics = self._clock.now() + self.metrics_seconds
            await self._clock.sleep(self.tick_seconds)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop dialing and end every call, sparing the people already on the line where possible.

        Calls not yet answered are hung up at once (nobody is on the line). People answering
        or waiting get up to ``grace`` seconds to reach an agent by the usual rules (or to hear
        the abandon message) before everything still up is hung up; what the PBX never reports
        ended within another ``grace`` is closed here, so no call row is left open.
        """
        self._stopping = True
        for live in list(self._live.values()):
            if live.call.state in _UNANSWERED:
                await self._hangup_once(live, "shutdown")
        deadline = self._clock.now() + grace
        while self._clock.now() < deadline and any(self._is_person_pending(lv) for lv in self._live.values()):
            await self._clock.sleep(min(0.05, grace))
        for live in list(self._live.values()):
            if live.route is not None:
                live.route.cancel()
            await self._hangup_once(live, "shutdown")
        deadline = self._clock.now() + grace
        while self._live and self._clock.now() < deadline:
            await self._clock.sleep(min(0.05, grace))
        for live in list(self._live.values()):
            before = live.call
            cause = HangupCause.CANCELLED if before.state in _UNANSWERED else HangupCause.PBX_LOST
            end = CallEnded(before.id, self._clock.now(), cause=cause, detail="platform stopped")
            live.call = advance(before, end)
            await self._ended(live, before)
        await self._writer.close()

    async def flush(self) -> None:
        """Wait until everything written so far is in the database."""
        await self._writer.flush()

    # --- calls ------------------------------------------------------------------------------

    @staticmethod
    def _advance(call: Call, event: CallEvent) -> Call:
        try:
            return advance(call, event)
        except InvalidTransition:
            # A PBX that reports the ring or the answer first: the dial happened at that moment.
            if call.state != CallState.QUEUED or isinstance(event, CallDialing | CallEnded):
                raise
            return advance(advance(call, CallDialing(call.id, event.at)), event)

    async def _launch(self, pick: Pick) -> None:
        campaign = self._campaign
        account_id = pick.account.id
        if account_id is None:
            self._numbers.finished(pick, None)
            log.warning("campaign %s: account %s has no id; skipped", self.id, pick.account.external_ref)
            return
        call = Call(new_call_id(), queued_at=self._clock.now())
        live = _Live(call=call, pick=pick, account_id=int(account_id), amd=campaign.amd_enabled)
        self._live[call.id] = live
        self.counts.dials += 1
        self._write(
            lambda: self._calls.insert(
                call, campaign_id=self.id, account_id=live.account_id, number=pick.phone.e164,
                mode=campaign.mode.value, wall=self._wall,
            )
        )
        try:
            request = self._request(call.id, pick.phone.e164, live.account_id)
            await self._port.originate(request)
        except (DomainError, OSError) as exc:
            down = isinstance(exc, DomainError) and exc.code == "pbx_down"
            if down:
                self.pbx_down = True  # the PBX went away before its PortDown reached us: stop here
            log.warning("campaign %s: originate %s refused: %s", self.id, call.id, exc)
            before = live.call
            live.call = advance(before, CallEnded(call.id, self._clock.now(), HangupCause.FAILED, str(exc)[:100]))
            # Never dialed when the PBX was down: the row says so (no dialed_at) and the number
            # goes back to the hopper without counting as an attempt.
            await self._ended(live, before, attempted=not down)

    async def _ended(self, live: _Live, before: Call, *, attempted: bool = True) -> None:
        self._settle_ivr(live)
        call = live.call
        del self._live[call.id]
        if self._campaign.mode == CampaignMode.IVR and live.ivr_outcome is None:
            self._ended_ivr[call.id] = live
            while len(self._ended_ivr) > 256:
                self._ended_ivr.popitem(last=False)
        if live.route is not None and not live.route.done():
            live.route.cancel()
        c = self.counts
        c.ended += 1
        outcome = call.outcome or Outcome.FAILED
        c.by_outcome[outcome.value] = c.by_outcome.get(outcome.value, 0) + 1
        if before.state in _UNANSWERED:
            c.unanswered += 1
        if outcome == Outcome.ABANDONED:
            c.abandoned += 1
            if before.state == CallState.ANSWERED and live.amd:
                c.live += 1  # hung up while AMD listened: a person all the same
            else:
                self._see(Seen.ABANDONED, call.ended_at, 0.0)
        elif outcome == Outcome.CONNECTED:
            self._see(Seen.TALK, call.ended_at, call.ended_at, call.connected_at)
        elif outcome == Outcome.NO_ANSWER:
            self._see(Seen.NO_ANSWER, call.ended_at, call.ended_at, call.dialed_at or call.queued_at)
        elif outcome in _QUICK:
            self._see(Seen.QUICK_FAIL, call.ended_at, call.ended_at, call.dialed_at or call.queued_at)
        dialed = self._wall(call.dialed_at if call.dialed_at is not None else call.queued_at)
        if dialed is not None and attempted:
            attempt = Attempt(
                number=live.pick.phone.e164,
                account_ref=live.pick.account.external_ref,
                at=dialed,
                outcome=_RETRY.get(outcome),
                # Until the disposition says otherwise a talk counts as a conversation: the
                # quiet period then holds the account back rather than letting it be redialed.
                conversation=outcome == Outcome.CONNECTED,
            )
            self._numbers.finished(live.pick, attempt)
        else:
            self._numbers.finished(live.pick, None)
        self._save(live)

    def _request(self, call_id: CallId, number: str, account_id: int) -> OriginateRequest:
        """The originate: to the agents' holding dialplan, or (mode ivr) into the IVR's context."""
        campaign = self._campaign
        variables = {"CAMPAIGN": str(self.id), "ACCOUNT": str(account_id)}
        request = OriginateRequest(
            call_id=call_id,
            number=number,
            caller_id=campaign.callback_number,
            ring_timeout=float(campaign.no_answer_timeout_seconds),
            amd=campaign.amd_enabled,
            variables=variables,
        )
        if campaign.mode != CampaignMode.IVR:
            return request
        ivr = {
            "RECOBRO_IVR_FLOW": IVR_FLOW,
            "RECOBRO_CALL_ID": call_id,
            "RECOBRO_ACCOUNT_ID": str(account_id),
            "RECOBRO_CAMPAIGN_ID": str(self.id),
            "RECOBRO_NUMBER": number,
        }
        return replace(request, context=IVR_CONTEXT, variables=variables | ivr)

    def _count_ivr(self, event: CallEvent, after: Call) -> None:
        if isinstance(event, CallAnswered):
            self.counts.answered += 1
            self._see(Seen.ANSWERED, after.answered_at, after.answered_at, after.dialed_at or after.queued_at)
        elif after.state == CallState.MACHINE:
            self.counts.machines += 1
        else:
            self.counts.live += 1

    def _settle_ivr(self, live: _Live) -> None:
        """Mode ivr: a person who answered was served by the IVR, not abandoned."""
        call = live.call
        if self._campaign.mode == CampaignMode.IVR and call.outcome == Outcome.ABANDONED:
            live.call = replace(call, outcome=Outcome.IVR)

    @staticmethod
    def _is_person_pending(live: _Live) -> bool:
        """Answered (AMD listening) or a person not yet with an agent nor hearing the message."""
        state = live.call.state
        routed_machine = state == CallState.MACHINE and live.route is not None
        return state == CallState.ANSWERED or ((state == CallState.HUMAN or routed_machine) and not live.abandoning)

    async def _hangup_once(self, live: _Live, reason: str) -> None:
        if not live.hung_up:
            live.hung_up = True
            await self._hangup(live.call.id, reason)

    def _is_waiting(self, live: _Live) -> bool:
        call = live.call
        person = call.state == CallState.HUMAN or (call.state == CallState.ANSWERED and not live.amd)
        return person and live.agent_id is None and not live.abandoning

    def _start_route(self, live: _Live) -> None:
        live.route = asyncio.create_task(self._route(live), name=f"route-{live.call.id}")

    async def _route(self, live: _Live) -> None:
        """Find an agent for the person within the campaign's limit, else play the abandon message."""
        campaign = self._campaign
        offer = PersonOffer(
            call_id=live.call.id,
            campaign_id=self.id,
            account_id=live.account_id,
            number=live.pick.phone.e164,
            required_skills=campaign.required_skills,
        )
        try:
            agent = await self._desk.offer(offer, campaign.connect_within_seconds)
        except (DomainError, OSError) as exc:
            log.warning("campaign %s: no agent for %s: %s", self.id, live.call.id, exc)
            agent = None
        if agent is not None:
            live.agent_id = agent
            if live.call.state == CallState.CONNECTED or live.call.is_over:
                self._save(live)
            return
        if live.call.is_over or live.call.id not in self._live:
            return
        live.abandoning = True
        try:
            await self._port.play_and_hangup(live.call.id, f"abandon-{self.id}")
        except DomainError as exc:  # the person hung up meanwhile
            log.debug("campaign %s: abandon message on %s: %s", self.id, live.call.id, exc)

    async def _hangup(self, call_id: CallId, reason: str) -> None:
        try:
            await self._port.hangup(call_id, reason=reason)
        except (DomainError, OSError) as exc:
            log.warning("campaign %s: hangup %s failed: %s", self.id, call_id, exc)

    def _see(self, kind: Seen, at: float | None, end: float | None, start: float | None = None) -> None:
        seconds = 0.0 if end is None or start is None else max(0.0, end - start)
        self._strategy.observe(Observation(kind, at if at is not None else self._clock.now(), seconds))

    # --- persistence ------------------------------------------------------------------------

    def _wall(self, at: float | None) -> datetime | None:
        if at is None:
            return None
        return self._clock.wall() - timedelta(seconds=self._clock.now() - at)

    def _save(self, live: _Live) -> None:
        call, agent_id, outcome = live.call, live.agent_id, live.ivr_outcome
        if outcome is not None and call.is_over:
            self._write(lambda: self._calls.save(call, agent_id=agent_id, wall=self._wall, outcome=outcome))
        else:
            self._write(lambda: self._calls.save(call, agent_id=agent_id, wall=self._wall))

    def _write(self, job: Callable[[], Awaitable[None]]) -> None:
        self._writer.put(job)
