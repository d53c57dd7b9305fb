"""SimulatedPbx: a TelephonyPort whose calls follow a scenario's population, on a clock.

It stands in for Asterisk in ``recobro serve --sim`` and in the demo: the dialer, the ACD and
the agent desktop see the same events they would see from the AMI adapter, but the people who
answer (or not) are drawn from a scenario file. It is a different thing from
``contact_center.py``, which simulates a whole campaign in virtual time in one batch.

Theory of operation. Every originate takes the next fate of the population (list order; the
request's number is only echoed) and walks the call through its life one timer at a time, each
timer scheduling the next, so a call's events can never overtake each other even when two
timers fall on the same instant::

    originate ─► CallDialing (at once) ─► CallRinging (soon after)
        busy / invalid ─► CallEnded(BUSY / INVALID) after fate.quick
        no answer, or an answer slower than the request's ring_timeout
                       ─► CallEnded(NO_ANSWER) at ring_timeout
        person / machine ─► CallAnswered at fate.ring
            request.amd ─► CallAmd(HUMAN / MACHINE; fate.amd_wrong flips it) after fate.analysis
            a person nobody connects hangs up PATIENCE s later   (CallEnded NORMAL)
            a machine stays up until the platform hangs it up
    connect_to_agent ─► CallBridged at once; a person hangs up after fate.talk if the agent has not
    play_and_hangup  ─► CallEnded(ABANDONED; MACHINE after a MACHINE verdict) MESSAGE_SECONDS later
    hangup           ─► CallEnded at once (MACHINE if reason == "machine" after an answer,
                        NORMAL after an answer, CANCELLED before); a no-op on an ended call

``speed`` > 1 compresses every duration (a demo or a test runs a 25 s ring in 0.5 s); event
times are the clock's own seconds. Time comes only from the clock.
"""

from __future__ import annotations

import asyncio
import enum
import math
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from recobro.domain.errors import Conflict, NotFound, ValidationError
from recobro.domain.events import (
    AmdVerdict,
    CallAmd,
    CallAnswered,
    CallBridged,
    CallDialing,
    CallEnded,
    CallEvent,
    CallRinging,
    HangupCause,
)
from recobro.domain.ids import CallId
from recobro.telephony.clock import Clock, Handle
from recobro.telephony.port import OriginateRequest, safe_value
from recobro.telephony.sim.population import Answer, Fate, Population
from recobro.telephony.sim.scenario import Scenario

#: Seconds from the originate to the first ring (or half the time to the outcome, if sooner).
RINGING_AFTER = 0.2
#: Seconds a person waits, after the verdict (or the answer without AMD), for someone to talk.
PATIENCE = 10.0
#: Seconds the recorded message of play_and_hangup lasts.
MESSAGE_SECONDS = 3.0
#: Ended calls remembered (duplicate ids refused, fate_of answered); older ones are forgotten.
REMEMBER_ENDED = 10_000

# The PBX's own words for the record (Q.850 causes where there is one).
_DETAIL = {
    Answer.BUSY: "17 user busy",
    Answer.INVALID: "1 unallocated number",
    Answer.NO_ANSWER: "19 no answer",
}


class _Stage(enum.Enum):
    DIALING = "dialing"
    RINGING = "ringing"
    ANSWERED = "answered"  # up, AMD listening
    UP = "up"  # verdict given (or no AMD), nobody connected yet
    BRIDGED = "bridged"
    PLAYING = "playing"  # the message of play_and_hangup, then the end
    ENDED = "ended"


_ANSWERED_STAGES = (_Stage.ANSWERED, _Stage.UP, _Stage.BRIDGED)


@dataclass(slots=True)
class _Call:
    request: OriginateRequest
    fate: Fate
    answer: Answer  # the fate's answer, with a too-slow answer turned into NO_ANSWER
    started: float
    stage: _Stage = _Stage.DIALING
    verdict: AmdVerdict | None = None
    timer: Handle | None = None


class SimulatedPbx:
    """A TelephonyPort over a scenario's population; see the module docstring for the rules."""

    def __init__(self, scenario: Scenario, clock: Clock, *, speed: float = 1.0) -> None:
        if isinstance(speed, bool) or not isinstance(speed, int | float) or not math.isfinite(speed) or speed <= 0:
            raise ValidationError(
                f"la velocidad debe ser un número > 0 / speed must be a number > 0, got {speed!r}",
                field="speed",
                value=speed,
            )
        self.scenario = scenario
        self.speed = float(speed)
        self._clock = clock
        self._population = Population(scenario)
        self._next_index = 0
        self._origin: float | None = None  # clock time of the first originate: hour 0 of the run
        self._live: dict[CallId, _Call] = {}
        self._ended: OrderedDict[CallId, _Call] = OrderedDict()
        self._queue: asyncio.Queue[CallEvent | None] = asyncio.Queue()  # None: closed
        self._closed = False

    # --- the port ---------------------------------------------------------------------------

    async def originate(self, request: OriginateRequest) -> None:
        """Place the call: CallDialing now, the rest on the clock as the next fate says."""
        if self._closed:
            raise Conflict("la central está cerrada / the PBX port is closed", code="port_closed")
        if request.call_id in self._live or request.call_id in self._ended:
            raise Conflict(f"la llamada ya existe / call id already used: {request.call_id}")
        now = self._clock.now()
        if self._origin is None:
            self._origin = now
        hour = (now - self._origin) * self.speed / 3600.0
        fate = self._population.fate(self._next_index, hour)
        self._next_index += 1
        answer = fate.answer
        if answer in (Answer.HUMAN, Answer.MACHINE) and fate.ring >= request.ring_timeout:
            answer = Answer.NO_ANSWER
        call = _Call(request=request, fate=fate, answer=answer, started=now)
        self._live[request.call_id] = call
        self._emit(CallDialing(request.call_id, now, channel=f"SIM/{request.number}-{fate.index:08x}"))
        outcome = self._outcome_after(call)
        self._after(call, min(RINGING_AFTER, outcome / 2), lambda: self._ring(call))

    async def hangup(self, call_id: CallId, *, reason: str = "") -> None:
        """End the call now; a no-op on an unknown or ended call."""
        safe_value(reason, field="reason", max_len=80)
        call = self._live.get(call_id)
        if call is None:
            return
        if call.stage in _ANSWERED_STAGES or call.stage is _Stage.PLAYING:
            cause = HangupCause.MACHINE if reason == "machine" else HangupCause.NORMAL
        else:
            cause = HangupCause.CANCELLED
        self._end(call, cause, reason or "hung up by the platform")

    async def connect_to_agent(self, call_id: CallId, agent: str) -> None:
        """Bridge an answered call with the agent: CallBridged at once."""
        safe_value(agent, field="agent", max_len=80)
        if not agent.strip():
            raise ValidationError("falta el agente / agent is empty", field="agent", value=agent)
        call = self._answered(call_id, "connect")
        was_bridged = call.stage is _Stage.BRIDGED
        call.stage = _Stage.BRIDGED
        self._emit(CallBridged(call_id, self._clock.now(), agent=agent))
        if was_bridged:
            return  # a transfer: the person's own clock keeps running
        if call.answer is Answer.HUMAN:
            self._after(call, call.fate.talk, lambda: self._end(call, HangupCause.NORMAL, "debtor hung up"))
        else:
            self._cancel(call)  # a machine waits for the agent to hang up

    async def play_and_hangup(self, call_id: CallId, message: str) -> None:
        """Play the message, then hang up: CallEnded after MESSAGE_SECONDS."""
        safe_value(message, field="message", max_len=80)
        if not message.strip():
            raise ValidationError("falta el mensaje / message is empty", field="message", value=message)
        call = self._answered(call_id, "play")
        call.stage = _Stage.PLAYING
        cause = HangupCause.MACHINE if call.verdict is AmdVerdict.MACHINE else HangupCause.ABANDONED
        self._after(call, MESSAGE_SECONDS, lambda: self._end(call, cause, f"played {message}"))

    async def events(self) -> AsyncIterator[CallEvent]:
        """Call events in the order they happened, until close()."""
        while True:
            item = await self._queue.get()
            if item is None:
                self._queue.put_nowait(None)  # so that every other reader ends too
                return
            yield item

    async def close(self) -> None:
        """Cancel every pending timer and end the event stream; live calls are left as they are."""
        if self._closed:
            return
        self._closed = True
        for call in self._live.values():
            self._cancel(call)
        self._queue.put_nowait(None)

    # --- for tests --------------------------------------------------------------------------

    def fate_of(self, call_id: CallId) -> Fate:
        """The fate drawn for a call (tests only: the platform must learn it from events)."""
        call = self._live.get(call_id) or self._ended.get(call_id)
        if call is None:
            raise NotFound(f"llamada desconocida / unknown call {call_id}", code="call_not_found")
        return call.fate

    # --- the life of a call -----------------------------------------------------------------

    def _outcome_after(self, call: _Call) -> float:
        if call.answer in (Answer.BUSY, Answer.INVALID):
            return call.fate.quick
        if call.answer is Answer.NO_ANSWER:
            return call.request.ring_timeout
        return call.fate.ring

    def _ring(self, call: _Call) -> None:
        call.stage = _Stage.RINGING
        self._emit(CallRinging(call.request.call_id, self._clock.now()))
        remaining = self._outcome_after(call) - min(RINGING_AFTER, self._outcome_after(call) / 2)
        if call.answer in (Answer.HUMAN, Answer.MACHINE):
            self._after(call, remaining, lambda: self._answer(call))
        else:
            cause = {
                Answer.BUSY: HangupCause.BUSY,
                Answer.INVALID: HangupCause.INVALID,
                Answer.NO_ANSWER: HangupCause.NO_ANSWER,
            }[call.answer]
            self._after(call, remaining, lambda: self._end(call, cause, _DETAIL[call.answer]))

    def _answer(self, call: _Call) -> None:
        call.stage = _Stage.ANSWERED
        self._emit(CallAnswered(call.request.call_id, self._clock.now()))
        if call.request.amd:
            self._after(call, call.fate.analysis, lambda: self._verdict(call))
        else:
            self._wait_for_someone(call)

    def _verdict(self, call: _Call) -> None:
        is_human = (call.answer is Answer.HUMAN) != call.fate.amd_wrong
        call.verdict = AmdVerdict.HUMAN if is_human else AmdVerdict.MACHINE
        cause = "HUMAN" if is_human else "LONGGREETING"  # Asterisk's AMDCAUSE words
        self._emit(CallAmd(call.request.call_id, self._clock.now(), verdict=call.verdict, cause=cause))
        self._wait_for_someone(call)

    def _wait_for_someone(self, call: _Call) -> None:
        """Up with nobody on the line: a person gives up after PATIENCE, a machine waits."""
        call.stage = _Stage.UP
        if call.answer is Answer.HUMAN:
            self._after(call, PATIENCE, lambda: self._end(call, HangupCause.NORMAL, "caller hung up"))
        else:
            call.timer = None

    def _end(self, call: _Call, cause: HangupCause, detail: str) -> None:
        self._cancel(call)
        call.stage = _Stage.ENDED
        call_id = call.request.call_id
        self._live.pop(call_id, None)
        self._ended[call_id] = call
        while len(self._ended) > REMEMBER_ENDED:
            self._ended.popitem(last=False)
        self._emit(CallEnded(call_id, self._clock.now(), cause=cause, detail=detail))

    # --- plumbing ---------------------------------------------------------------------------

    def _answered(self, call_id: CallId, command: str) -> _Call:
        call = self._live.get(call_id)
        if call is None:
            raise NotFound(
                f"la llamada no existe o ya terminó / call {call_id} is unknown or over", code="call_not_found"
            )
        if call.stage not in _ANSWERED_STAGES:
            raise Conflict(
                f"la llamada no está contestada / call {call_id} is {call.stage.value}, cannot {command}",
                code="call_not_up",
            )
        return call

    def _after(self, call: _Call, seconds: float, action: Callable[[], None]) -> None:
        """Run ``action`` after ``seconds`` of scenario time (divided by speed), replacing the call's timer."""
        self._cancel(call)
        when = self._clock.now() + max(seconds, 0.0) / self.speed
        call.timer = self._clock.call_at(when, action)

    @staticmethod
    def _cancel(call: _Call) -> None:
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None

    def _emit(self, event: CallEvent) -> None:
        if not self._closed:
            self._queue.put_nowait(event)
