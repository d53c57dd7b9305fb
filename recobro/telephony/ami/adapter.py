"""AmiTelephony: the TelephonyPort on a real Asterisk, through the AMI client and the call tracker.

Commands become AMI actions against the dialplan of ``asterisk_config`` (extensions.conf):

    originate        Originate (Async) of the dial string into recobro-outbound,s,1 with
                     ChannelId recobro-<call id> and the variables RECOBRO_CALL_ID, RECOBRO_AMD,
                     RECOBRO_ON_MACHINE=hold (the platform, not the dialplan, decides about machines)
    hangup           Hangup of the call's channel (sent as soon as the channel exists)
    connect_to_agent Redirect to recobro-connect,<agent id>,1 (the agent's ConfBridge)
    (agent leg)      Originate of the agent's phone into recobro-agent,<agent id>,1 (start_agent_session)
    play_and_hangup  Setvar RECOBRO_MESSAGE, then Redirect to recobro-abandon,s,1

What Asterisk reports comes back through ``CallTracker`` (calls.py) as the platform's call
events. When the AMI link drops, ``PortDown`` is emitted; when it is back, the live calls are
reconciled with ``CoreShowChannels`` (each ends once or goes on) and ``PortUp`` follows. An
Originate whose response was lost is never sent again: the tracker finds its fate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from recobro.domain.errors import Conflict, NotFound, ValidationError
from recobro.domain.events import CallEvent, HangupCause, PortDown, PortUp
from recobro.domain.ids import CallId
from recobro.telephony.ami.calls import CALL_VAR, CallTracker, Intent, Tracked
from recobro.telephony.ami.client import (
    AmiClient,
    AmiConfig,
    AmiError,
    AmiLinkLost,
    AmiNotConnected,
    AmiTimeout,
    LinkDown,
    LinkUp,
)
from recobro.telephony.ami.codec import Message, variable_fields
from recobro.telephony.clock import Clock
from recobro.telephony.port import OriginateRequest, safe_value

log = logging.getLogger(__name__)

_AGENT_RE = re.compile(r"^[0-9]{1,32}$")  # the dialplan's agent extensions are _X!
_SOUND_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_/-]{0,127}$")  # as recobro-abandon re-checks it
NO_CALL = CallId("")


@dataclass(frozen=True, slots=True)
class Dialplan:
    """Where the actions send calls; the names match asterisk_config/templates/extensions.conf."""

    dial: str = "PJSIP/{digits}@carrier"  # {digits}: the E.164 number without '+'; {number}: with it
    outbound_exten: str = "s"
    connect_context: str = "recobro-connect"
    agent_context: str = "recobro-agent"
    abandon_context: str = "recobro-abandon"
    on_machine: str = "hold"
    # The sound recobro-abandon plays when the dialplan itself sends a person there (the hold
    # timed out, or the agent's bridge was empty at the connect); {campaign} is the request's
    # CAMPAIGN variable. The engine's own abandon (play_and_hangup) names the same sound.
    campaign_message: str = "abandon-{campaign}"


class AmiTelephony:
    """A TelephonyPort on Asterisk; see the module docstring."""

    def __init__(
        self,
        client: AmiClient,
        clock: Clock,
        dialplan: Dialplan | None = None,
        *,
        dial: Callable[[str], str] | None = None,
        in_doubt_grace: float = 5.0,
    ) -> None:
        self._client = client
        self._grace = in_doubt_grace
        self._clock = clock
        self._plan = dialplan or Dialplan()
        self._dial = dial or (lambda number: self._plan.dial.format(number=number, digits=number.lstrip("+")))
        self._tracker = CallTracker()
        self._queue: asyncio.Queue[CallEvent | None] = asyncio.Queue()
        self._ready = False
        self._closed = False
        self._consumer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._hangup_wanted: set[CallId] = set()

    @classmethod
    async def open(
        cls, config: AmiConfig, clock: Clock, dialplan: Dialplan | None = None, **kwargs: Any
    ) -> AmiTelephony:
        """Connect, log in and start following events (raises if Asterisk cannot be reached)."""
        port = cls(AmiClient(config), clock, dialplan, **kwargs)
        await port.start()
        return port

    async def start(self) -> None:
        if self._consumer is not None:
            return
        if not self._client.connected:
            await self._client.start()
        self._consumer = asyncio.create_task(self._consume(), name="ami-telephony")
        # The first LinkUp is consumed by the task; wait until it made the port ready.
        async with asyncio.timeout(self._client.config.action_timeout * 2):
            while not self._ready:
                await asyncio.sleep(0.005)

    @property
    def ready(self) -> bool:
        return self._ready and not self._closed

    # --- the port ---------------------------------------------------------------------------

    async def originate(self, request: OriginateRequest) -> None:
        """Queue the call in Asterisk; a refusal raises, a lost answer leaves the fate to events."""
        if self._closed:
            raise Conflict("la central está cerrada / the PBX port is closed", code="port_closed")
        if not self._ready:
            raise Conflict("sin conexión con Asterisk / Asterisk is not reachable now", code="pbx_down")
        if self._tracker.was_ours(request.call_id):
            raise Conflict(f"la llamada ya existe / call id already used: {request.call_id}")
        variables = {
            CALL_VAR: request.call_id,
            "RECOBRO_AMD": "1" if request.amd else "0",
            "RECOBRO_ON_MACHINE": self._plan.on_machine,
            **request.variables,
        }
        campaign = request.variables.get("CAMPAIGN", "")
        if campaign.isdigit() and self._plan.campaign_message and "RECOBRO_MESSAGE" not in variables:
            variables["RECOBRO_MESSAGE"] = self._plan.campaign_message.format(campaign=campaign)
        fields: list[tuple[str, str]] = [
            ("Channel", safe_value(self._dial(request.number), field="dial")),
            ("Context", request.context),
            ("Exten", self._plan.outbound_exten),
            ("Priority", "1"),
            ("Timeout", str(int(request.ring_timeout * 1000))),
            ("Async", "true"),
        ]
        if request.caller_id:
            fields.append(("CallerID", request.caller_id))
        action_id = self._client.next_action_id()
        call = self._tracker.add(request.call_id, action_id)
        fields += [("ChannelId", call.channel_id), *variable_fields(variables)]
        try:
            await self._client.send("Originate", fields, action_id=action_id)
        except (AmiLinkLost, AmiTimeout) as exc:
            # Written, answer lost: Asterisk may be dialing. Never re-send; events or the
            # reconciliation after the reconnect tell what happened.
            call.in_doubt = True
            log.warning("originate %s: %s; its fate will come from events", request.call_id, exc.message)
            if isinstance(exc, AmiTimeout):
                self._spawn(self._check_in_doubt(request.call_id, request.ring_timeout + self._grace))
        except (AmiError, ValidationError) as exc:
            self._tracker.forget(request.call_id)
            if isinstance(exc, AmiError) and "shutting down" in exc.message.lower():
                # A graceful stop refuses new calls for a while before the link drops: the PBX is
                # down from here on for the platform (PortUp follows the reconnect).
                self._going_down()
                raise Conflict(f"Asterisk se está deteniendo / Asterisk is shutting down: {exc.message}",
                               code="pbx_down") from exc
            raise

    async def hangup(self, call_id: CallId, *, reason: str = "") -> None:
        """Hang the call up (now, or as soon as its channel exists); a no-op on an unknown or ended call."""
        safe_value(reason, field="reason", max_len=80)
        call = self._tracker.get(call_id)
        if call is None:
            return
        self._tracker.mark(call_id, Intent.MACHINE_HANGUP if reason == "machine" else Intent.HANGUP, reason)
        if call.channel:
            await self._hangup_channel(call.channel, call_id)
        else:
            self._hangup_wanted.add(call_id)

    async def connect_to_agent(self, call_id: CallId, agent: str) -> None:
        """Redirect the call into the agent's ConfBridge (the agent is already there)."""
        safe_value(agent, field="agent", max_len=80)
        if not _AGENT_RE.match(agent):
            raise ValidationError(
                f"el agente debe ser su número de extensión / agent must be the agent's numeric id: {agent!r}",
                field="agent",
                value=agent,
            )
        call = self._answered(call_id, "connect")
        self._tracker.connect_requested(call_id, agent)
        await self._client.send(
            "Redirect",
            [("Channel", call.channel), ("Context", self._plan.connect_context), ("Exten", agent), ("Priority", "1")],
        )

    async def play_and_hangup(self, call_id: CallId, message: str) -> None:
        """Play the recorded message (a sound name), then hang up: the abandon message."""
        safe_value(message, field="message", max_len=128)
        if not _SOUND_RE.match(message) or ".." in message:
            raise ValidationError(
                f"el mensaje debe ser un nombre de audio / message must be a sound name: {message!r}",
                field="message",
                value=message,
            )
        call = self._answered(call_id, "play")
        self._tracker.mark(call_id, Intent.PLAY, message)
        await self._client.send(
            "Setvar", [("Channel", call.channel), ("Variable", "RECOBRO_MESSAGE"), ("Value", message)]
        )
        await self._client.send(
            "Redirect",
            [("Channel", call.channel), ("Context", self._plan.abandon_context), ("Exten", "s"), ("Priority", "1")],
        )

    async def start_agent_session(self, agent: str, dial: str, *, ring_timeout: float = 20.0) -> None:
        """Call the agent's phone into their own ConfBridge (recobro-agent,<agent>,1), where
        connect_to_agent later redirects each person. Not part of the TelephonyPort: the
        composition root calls it when an agent starts work."""
        safe_value(agent, field="agent", max_len=32)
        if not _AGENT_RE.match(agent):
            raise ValidationError(
                f"el agente debe ser su número de extensión / agent must be the agent's numeric id: {agent!r}",
                field="agent",
                value=agent,
            )
        await self._client.send(
            "Originate",
            [
                ("Channel", safe_value(dial, field="dial")),
                ("Context", self._plan.agent_context),
                ("Exten", agent),
                ("Priority", "1"),
                ("Timeout", str(int(ring_timeout * 1000))),
                ("Async", "true"),
            ],
        )

    async def agent_session_channels(self, agent: str) -> list[str]:
        """The agent's own legs now in their ConfBridge (marked members); [] when it is empty.

        The composition root asks before (re)starting a session, so a reconnect that found the
        agent still there does not put a second leg of theirs into a two-member bridge."""
        self._check_agent(agent)
        try:
            items = await self._client.send_list(
                "ConfBridgeList", "ConfbridgeListComplete", [("Conference", f"recobro-agent-{agent}")]
            )
        except AmiError as exc:
            text = exc.message.lower()  # "No active conferences." / "No Conference by that name found."
            if "no active conference" in text or "no conference" in text:
                return []
            raise
        return [m.get("Channel") or "" for m in items if (m.get("MarkedUser") or "").lower() == "yes"]

    async def stop_agent_session(self, agent: str) -> int:
        """Hang up the agent's legs in their ConfBridge (log-out); returns how many were ended."""
        channels = [c for c in await self.agent_session_channels(agent) if c]
        for channel in channels:
            await self._hangup_channel(channel, None)
        return len(channels)

    @staticmethod
    def _check_agent(agent: str) -> None:
        safe_value(agent, field="agent", max_len=32)
        if not _AGENT_RE.match(agent):
            raise ValidationError(
                f"el agente debe ser su número de extensión / agent must be the agent's numeric id: {agent!r}",
                field="agent",
                value=agent,
            )

    async def events(self) -> AsyncIterator[CallEvent]:
        while True:
            item = await self._queue.get()
            if item is None:
                self._queue.put_nowait(None)
                return
            yield item

    async def close(self) -> None:
        """Stop following Asterisk and end the event stream; live calls are left as they are."""
        if self._closed:
            return
        self._closed = True
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer
        for task in list(self._tasks):
            task.cancel()
        await self._client.close()
        self._queue.put_nowait(None)

    # --- following Asterisk -----------------------------------------------------------------

    async def _consume(self) -> None:
        async for item in self._client.stream():
            if isinstance(item, LinkUp):
                await self._link_up(item)
            elif isinstance(item, LinkDown):
                self._going_down()
            elif item.is_event("Shutdown"):
                self._going_down()  # the link drops next; nothing new may be sent meanwhile
                self._on_message(item)
            else:
                self._on_message(item)

    def _going_down(self) -> None:
        if self._ready:
            self._ready = False
            self._emit(PortDown(NO_CALL, self._clock.now()))

    async def _link_up(self, up: LinkUp) -> None:
        try:
            listing = await self._client.send_list("CoreShowChannels", "CoreShowChannelsComplete")
        except AmiError as exc:
            log.warning("reconciliation after reconnect failed: %s; waiting for the next link", exc.message)
            return
        result = self._tracker.reconcile(listing, self._clock.now())
        for event in result.events:
            self._emit(event)
        for channel in result.strays:
            self._spawn(self._hangup_channel(channel, None))
        for call in self._tracker.live:
            if call.intent in (Intent.HANGUP, Intent.MACHINE_HANGUP) and call.channel:
                self._spawn(self._hangup_channel(call.channel, call.call_id))
        self._ready = True
        if not up.first:
            self._emit(PortUp(NO_CALL, self._clock.now()))

    def _on_message(self, message: Message) -> None:
        if message.is_event("Newchannel") and self._tracker.ended_call_of(message):
            self._spawn(self._hangup_channel(message.get("Channel") or "", None))  # a straggler
            return
        for event in self._tracker.feed(message, self._clock.now()):
            self._emit(event)
        for call_id in list(self._hangup_wanted):  # hangups asked for before the channel existed
            call = self._tracker.get(call_id)
            if call is None:
                self._hangup_wanted.discard(call_id)
            elif call.channel:
                self._hangup_wanted.discard(call_id)
                self._spawn(self._hangup_channel(call.channel, call_id))

    async def _hangup_channel(self, channel: str, call_id: CallId | None) -> None:
        if not channel:
            return
        try:
            await self._client.send("Hangup", [("Channel", channel), ("Cause", "16")])
        except AmiNotConnected:
            pass  # after the reconnect the reconciliation hangs it up
        except AmiError as exc:
            log.debug("hangup of %s: %s (already gone?)", channel, exc.message)

    async def _check_in_doubt(self, call_id: CallId, after: float) -> None:
        """An Originate that timed out: if no event ever showed its channel, ask Asterisk."""
        await self._clock.sleep(after)
        call = self._tracker.get(call_id)
        if call is None or not call.in_doubt or call.dialing:
            return
        try:
            listing = await self._client.send_list("CoreShowChannels", "CoreShowChannelsComplete")
        except AmiError:
            return  # the link is down: the reconciliation after the reconnect decides
        if not any(m.get("Uniqueid") == call.channel_id for m in listing):
            for event in self._tracker.end_now(
                call_id, self._clock.now(), HangupCause.FAILED, "originate timed out; no channel"
            ):
                self._emit(event)

    def _answered(self, call_id: CallId, command: str) -> Tracked:
        call = self._tracker.get(call_id)
        if call is None:
            raise NotFound(
                f"la llamada no existe o ya terminó / call {call_id} is unknown or over", code="call_not_found"
            )
        if not call.answered or not call.channel:
            raise Conflict(
                f"la llamada no está contestada / call {call_id} is not answered, cannot {command}",
                code="call_not_up",
            )
        return call

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _emit(self, event: CallEvent) -> None:
        if not self._closed:
            self._queue.put_nowait(event)
