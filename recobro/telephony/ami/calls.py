"""Tracking the platform's calls through AMI events: pure, sans-I/O, time as an argument.

Theory of operation. Each originate registers a call whose channel gets a *known* Uniqueid
(the Originate's ``ChannelId``, ``recobro-<call id>``) and the channel variable
``RECOBRO_CALL_ID`` (which ``manager.conf``'s ``channelvars`` copies onto every event of the
channel; the dialplan's UserEvents carry it as ``CallId``). So every AMI event is tied to its
call by identity, never by "the next new channel". ``feed`` turns one AMI event into the
platform's call events (``recobro.domain.events``), each kind at most once and in a life's
order, and nothing after ``CallEnded``:

    AMI                                          call event
    Newchannel / DialBegin                       CallDialing(channel)
    Newstate Ringing (5) / DialState RINGING     CallRinging
    Newstate Up (6) / DialEnd ANSWER /           CallAnswered
      OriginateResponse Success
    UserEvent RecobroAmd (Status, Cause)         CallAmd(HUMAN / MACHINE / NOTSURE)
    BridgeEnter of ConfBridge recobro-agent-<a>  CallBridged(agent)   (after connect_to_agent)
    DTMFEnd (received)                           CallDtmf
    Hangup (Cause, Cause-txt)                    CallEnded(cause)
    OriginateResponse Failure, no channel seen   CallEnded(cause from Reason)

A later event implies the earlier ones it skipped (an Up seen without its Newchannel, after a
reconnect, first reports the dialing; so does an end with no channel ever seen). The cause of
the end is, first, what the platform itself asked (``hangup``: CANCELLED before the answer,
MACHINE if the reason was "machine", NORMAL otherwise; ``play_and_hangup`` and the dialplan's
own abandon: ABANDONED, or MACHINE after a machine verdict), then what the network said:
Q.850 cause 17 busy; 1, 3, 22, 28 invalid; 34, 38, 41, 42, 44 congestion; anything else
before an answer is no answer (16, 18, 19, 21 rejected); after an answer NORMAL (MACHINE
after a machine verdict).

After the AMI link comes back, ``reconcile`` takes the ``CoreShowChannels`` listing: a call
whose channel is listed goes on (and catches up on dialing/answer), a call whose channel is
gone ends once, as PBX_LOST if it had been dialing and FAILED if its originate was never seen
to take effect. Channels of calls that already ended here are returned, to be hung up;
channels of other processes (another platform on the same Asterisk) are left alone.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from recobro.domain.events import (
    AmdVerdict,
    CallAmd,
    CallAnswered,
    CallBridged,
    CallDialing,
    CallDtmf,
    CallEnded,
    CallEvent,
    CallRinging,
    HangupCause,
)
from recobro.domain.ids import CallId, is_call_id
from recobro.telephony.ami.codec import Message

CHANNEL_ID_PREFIX = "recobro-"
CALL_VAR = "RECOBRO_CALL_ID"
AGENT_BRIDGE_PREFIX = "recobro-agent-"
REMEMBER_ENDED = 10_000

_BUSY = frozenset({17})
_INVALID = frozenset({1, 3, 22, 28})
_CONGESTION = frozenset({34, 38, 41, 42, 44})
# OriginateResponse Reason: the last control frame seen (Asterisk's AST_CONTROL_*).
_REASON = {
    0: (HangupCause.FAILED, "0 no channel"),
    1: (HangupCause.NO_ANSWER, "1 hung up"),
    3: (HangupCause.NO_ANSWER, "3 rang, no answer"),
    5: (HangupCause.BUSY, "5 busy"),
    8: (HangupCause.CONGESTION, "8 congestion"),
}


def channel_id(call_id: CallId) -> str:
    """The Uniqueid the call's channel gets (the Originate's ChannelId)."""
    return f"{CHANNEL_ID_PREFIX}{call_id}"


def cause_from_q850(code: int | None, *, answered: bool) -> HangupCause:
    """A network hang-up cause in the platform's words (see the module docstring)."""
    if answered:
        return HangupCause.NORMAL
    if code in _BUSY:
        return HangupCause.BUSY
    if code in _INVALID:
        return HangupCause.INVALID
    if code in _CONGESTION:
        return HangupCause.CONGESTION
    return HangupCause.NO_ANSWER


class Intent(enum.Enum):
    """What the platform asked of a live call; decides the cause when it ends."""

    NONE = "none"
    HANGUP = "hangup"
    MACHINE_HANGUP = "machine_hangup"
    PLAY = "play"


@dataclass(slots=True)
class Tracked:
    call_id: CallId
    channel_id: str
    action_id: str = ""
    channel: str = ""  # the channel's name once Asterisk created it
    dialing: bool = False
    ringing: bool = False
    answered: bool = False
    verdict: AmdVerdict | None = None
    bridged_to: str = ""
    connect_to: str = ""  # agent asked for by connect_to_agent
    intent: Intent = Intent.NONE
    reason: str = ""
    abandoned: str = ""  # the dialplan sent the person to the abandon message (why)
    failure_reason: int | None = None  # OriginateResponse Failure's Reason
    in_doubt: bool = False  # the Originate's response never came (link lost or timeout)
    events: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Reconciled:
    events: list[CallEvent]
    strays: list[str]  # channel names of ours that nobody tracks any more: hang them up


class CallTracker:
    """The platform's live calls as AMI shows them; see the module docstring."""

    def __init__(self) -> None:
        self._live: dict[CallId, Tracked] = {}
        self._by_uid: dict[str, CallId] = {}
        self._by_action: dict[str, CallId] = {}
        self._ended: OrderedDict[CallId, None] = OrderedDict()

    # --- what the platform does -------------------------------------------------------------

    def add(self, call_id: CallId, action_id: str = "") -> Tracked:
        call = Tracked(call_id, channel_id(call_id), action_id=action_id)
        self._live[call_id] = call
        self._by_uid[call.channel_id] = call_id
        if action_id:
            self._by_action[action_id] = call_id
        return call

    def forget(self, call_id: CallId) -> None:
        """The originate was refused outright: no call exists and none will."""
        call = self._live.pop(call_id, None)
        if call is not None:
            self._by_uid.pop(call.channel_id, None)
            self._by_action.pop(call.action_id, None)

    def get(self, call_id: CallId) -> Tracked | None:
        return self._live.get(call_id)

    def was_ours(self, call_id: CallId) -> bool:
        return call_id in self._live or call_id in self._ended

    @property
    def live(self) -> list[Tracked]:
        return list(self._live.values())

    def ended_call_of(self, message: Message) -> bool:
        """True if the event belongs to a call that already ended (a straggler channel?)."""
        call_id = self._identify(message, live_only=False)
        return call_id is not None and call_id in self._ended

    # --- AMI events in, call events out ----------------------------------------------------

    def feed(self, message: Message, now: float) -> list[CallEvent]:
        call_id = self._identify(message)
        if call_id is None:
            return []
        call = self._live[call_id]
        name = message.name.lower()
        out: list[CallEvent] = []
        if name in ("newchannel", "dialbegin"):
            self._dialing(call, message, now, out)
        elif name == "newstate":
            state = message.get("ChannelState")
            if state == "5":
                self._ringing(call, message, now, out)
            elif state == "6":
                self._answered(call, message, now, out)
        elif name == "dialstate":
            if (message.get("DialStatus") or "").upper() == "RINGING":
                self._ringing(call, message, now, out)
        elif name == "dialend":
            if (message.get("DialStatus") or "").upper() == "ANSWER":
                self._answered(call, message, now, out)
        elif name == "originateresponse":
            self._originate_response(call, message, now, out)
        elif name == "userevent":
            self._user_event(call, message, now, out)
        elif name == "bridgeenter":
            self._bridge_enter(call, message, now, out)
        elif name == "dtmfend":
            if (message.get("Direction") or "Received").lower() == "received" and call.answered:
                out.append(CallDtmf(call_id, now, digit=(message.get("Digit") or "")[:1]))
        elif name == "hangup":
            self._hangup(call, message, now, out)
        return out

    def originate_refused(self, call_id: CallId) -> None:
        self.forget(call_id)

    def mark(self, call_id: CallId, intent: Intent, reason: str = "") -> None:
        call = self._live.get(call_id)
        if call is not None and call.intent is Intent.NONE:
            call.intent, call.reason = intent, reason

    def end_now(self, call_id: CallId, now: float, cause: HangupCause, detail: str) -> list[CallEvent]:
        """End a live call from outside the event flow (a lost originate found by a check)."""
        call = self._live.get(call_id)
        if call is None:
            return []
        out: list[CallEvent] = []
        self._end(call, now, cause, detail, out)
        return out

    # --- after a reconnect ------------------------------------------------------------------

    def reconcile(self, listing: Iterable[Message], now: float) -> Reconciled:
        """Compare the live calls with ``CoreShowChannels``; see the module docstring."""
        present: dict[CallId, Message] = {}
        strays: list[str] = []
        for item in listing:
            call_id = self._identify(item, live_only=False)
            if call_id is not None and call_id in self._live:
                present[call_id] = item
            elif call_id is not None and item.get("Channel"):
                strays.append(item["Channel"])  # a call we ended whose channel lives on
        out: list[CallEvent] = []
        for call in list(self._live.values()):
            listed = present.get(call.call_id)
            if listed is not None:
                call.in_doubt = False
                self._dialing(call, listed, now, out)
                if listed.get("ChannelState") == "6":
                    self._answered(call, listed, now, out)
            elif call.dialing:
                self._end(call, now, HangupCause.PBX_LOST, "channel gone while the AMI link was down", out)
            else:
                self._end(call, now, HangupCause.FAILED, "originate lost with the AMI link; no channel", out)
        return Reconciled(out, strays)

    # --- steps ------------------------------------------------------------------------------

    def _identify(self, message: Message, *, live_only: bool = True) -> CallId | None:
        candidates: list[str | None] = []
        uid = message.get("Uniqueid") or message.get("DestUniqueid") or ""
        if uid in self._by_uid:
            candidates.append(self._by_uid[uid])
        elif uid.startswith(CHANNEL_ID_PREFIX):
            candidates.append(uid[len(CHANNEL_ID_PREFIX) :])
        candidates.append(message.chan_variables().get(CALL_VAR) or message.chan_variables("Dest").get(CALL_VAR))
        if message.name.lower() == "userevent":
            candidates.append(message.get("CallId"))
        if message.name.lower() == "originateresponse":
            candidates.append(self._by_action.get(message.action_id or ""))
        for candidate in candidates:
            if candidate and is_call_id(candidate):
                call_id = CallId(candidate)
                if call_id in self._live or (not live_only and call_id in self._ended):
                    return call_id
        return None

    def _dialing(self, call: Tracked, message: Message, now: float, out: list[CallEvent]) -> None:
        channel = message.get("Channel") or message.get("DestChannel") or ""
        if channel and not call.channel and message.name.lower() != "originateresponse":
            call.channel = channel
        if not call.dialing:
            call.dialing = True
            call.in_doubt = False
            out.append(CallDialing(call.call_id, now, channel=call.channel))

    def _ringing(self, call: Tracked, message: Message, now: float, out: list[CallEvent]) -> None:
        self._dialing(call, message, now, out)
        if not call.ringing and not call.answered:
            call.ringing = True
            out.append(CallRinging(call.call_id, now))

    def _answered(self, call: Tracked, message: Message, now: float, out: list[CallEvent]) -> None:
        self._dialing(call, message, now, out)
        if not call.answered:
            call.answered = True
            out.append(CallAnswered(call.call_id, now))

    def _originate_response(self, call: Tracked, message: Message, now: float, out: list[CallEvent]) -> None:
        call.in_doubt = False
        if (message.get("Response") or "").lower() == "success":
            self._answered(call, message, now, out)
            return
        try:
            reason = int(message.get("Reason") or "0")
        except ValueError:
            reason = 0
        call.failure_reason = reason
        if not call.dialing:  # no channel was ever created: nothing else will end the call
            cause, detail = _REASON.get(reason, (HangupCause.FAILED, f"{reason} originate failed"))
            if call.intent is not Intent.NONE:
                cause = HangupCause.CANCELLED
            self._end(call, now, cause, f"originate failed: {detail}", out)

    def _user_event(self, call: Tracked, message: Message, now: float, out: list[CallEvent]) -> None:
        kind = (message.get("UserEvent") or "").lower()
        if kind == "recobroamd":
            status = (message.get("Status") or "").upper()
            verdict = {"HUMAN": AmdVerdict.HUMAN, "MACHINE": AmdVerdict.MACHINE, "NOTSURE": AmdVerdict.NOTSURE}.get(
                status
            )
            if verdict is None or call.verdict is not None:
                return  # HANGUP (the line dropped during analysis) or a repeat: the end will tell
            self._answered(call, message, now, out)
            call.verdict = verdict
            out.append(CallAmd(call.call_id, now, verdict=verdict, cause=(message.get("Cause") or "")[:64]))
        elif kind == "recobroabandon":
            call.abandoned = call.abandoned or "abandon message"
        elif kind == "recobroholdtimeout":
            call.abandoned = "nobody took the call in time (hold timeout)"
        elif kind == "recobroconnectfailed":
            call.abandoned = f"agent {message.get('AgentId') or '?'} not in their bridge"
        elif kind == "recobroconnectended" and not call.bridged_to:
            # ConfBridge refused the person (the agent's bridge was full, or it failed): nobody took them.
            agent, result = message.get("AgentId") or "?", message.get("Result") or "?"
            call.abandoned = f"could not join agent {agent}'s bridge ({result})"

    def _bridge_enter(self, call: Tracked, message: Message, now: float, out: list[CallEvent]) -> None:
        bridge = message.get("BridgeName") or ""
        if not call.connect_to or not bridge.startswith(AGENT_BRIDGE_PREFIX):
            return  # the holding bridge, or a bridge nobody asked for
        agent = call.connect_to
        if bridge != AGENT_BRIDGE_PREFIX + agent or call.bridged_to == agent:
            return
        self._answered(call, message, now, out)
        call.bridged_to = agent
        out.append(CallBridged(call.call_id, now, agent=agent))

    def connect_requested(self, call_id: CallId, agent: str) -> None:
        call = self._live.get(call_id)
        if call is not None:
            call.connect_to = agent

    def _hangup(self, call: Tracked, message: Message, now: float, out: list[CallEvent]) -> None:
        raw = message.get("Cause") or ""
        code = int(raw) if raw.isdigit() else None
        detail = f"{raw} {message.get('Cause-txt') or ''}".strip()
        machine = call.verdict is AmdVerdict.MACHINE
        if call.intent is Intent.PLAY or call.abandoned:
            cause = HangupCause.MACHINE if machine else HangupCause.ABANDONED
            detail = f"{call.abandoned or 'played ' + call.reason}; {detail}"
        elif call.intent is Intent.MACHINE_HANGUP and call.answered:
            cause = HangupCause.MACHINE
        elif call.intent is not Intent.NONE:
            cause = HangupCause.NORMAL if call.answered else HangupCause.CANCELLED
            detail = f"{call.reason or 'hung up by the platform'}; {detail}"
        elif call.answered:
            cause = HangupCause.MACHINE if machine else HangupCause.NORMAL
        else:
            cause = cause_from_q850(code, answered=False)
        self._end(call, now, cause, detail, out)

    def _end(self, call: Tracked, now: float, cause: HangupCause, detail: str, out: list[CallEvent]) -> None:
        if not call.dialing:
            call.dialing = True  # a life starts with dialing, even one whose channel never appeared
            out.append(CallDialing(call.call_id, now, channel=call.channel))
        out.append(CallEnded(call.call_id, now, cause=cause, detail=detail[:200]))
        self._live.pop(call.call_id, None)
        self._by_action.pop(call.action_id, None)
        self._ended[call.call_id] = None
        while len(self._ended) > REMEMBER_ENDED:
            old, _ = self._ended.popitem(last=False)
            self._by_uid.pop(channel_id(old), None)
