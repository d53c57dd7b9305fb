"""The agent state machine.

Theory of operation: an agent is in exactly one state; what the agent does (log in, go ready,
pause, dispose), what the PBX reports (the call was bridged, the call ended), what the clock
says (the campaign's wrap-up limit ran out) and what a supervisor forces are actions, and
``apply`` moves the agent along the table below or refuses. The table is the whole truth: an
action it does not list is an ``InvalidTransition`` that changes nothing.

    LOGGED_OUT ─login─► PAUSED ─ready─► READY ─reserve─► RESERVED ─connect─► ON_CALL
                          └──── dial (a preview or manual call) ──► RESERVED
                          ▲  ◄─pause──   ▲  ◄─release──                     │
                          │              │                                hangup
                          │              ├──────dispose / wrap_expired── WRAP_UP ◄┘
                          └───────────── wrap_expired_pause ─────────────────┘
    READY, PAUSED ─logout─► LOGGED_OUT        any logged-in state ─force_logout─► LOGGED_OUT

A freshly logged-in agent is not ready (``PAUSED``, reason ``login``) until they say so. A pause
carries a reason code (break, lunch, ... configurable by the ACD); the code is part of the
status. An agent who asks to pause or to log out while reserved, on a call or in wrap-up keeps
working: the request is kept as ``pending`` (with its reason) and applied by the action that
ends the call (disposition, wrap-up limit, withdrawn offer), so a call is never cut short by a
break and the dialer can count the agent as leaving (``FloorSnapshot.leaving``). Only a
supervisor's ``force_logout`` ends a busy agent's session at once (the ACD drops the call).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from recobro.domain.errors import InvalidTransition


class AgentState(enum.StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"  # chosen for a waiting person; the bridge is being made
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"  # with a reason code
    TALKING = "on_call"  # alias kept for older callers
    BREAK = "paused"  # alias kept for older callers


class AgentAction(enum.StrEnum):
    LOGIN = "login"
    READY = "ready"
    PAUSE = "pause"
    LOGOUT = "logout"
    RESERVE = "reserve"  # the ACD offers a person to the agent
    DIAL = "dial"  # the agent dials a number themselves (preview or manual): held while it rings
    RELEASE = "release"  # the offer fell through (the person hung up before the bridge)
    CONNECT = "connect"  # the PBX bridged the person with the agent
    HANGUP = "hangup"  # the call ended, whoever hung up
    DISPOSE = "dispose"  # the agent recorded what came of the call
    WRAP_EXPIRED = "wrap_expired"  # the campaign's wrap-up limit ran out: back to ready
    WRAP_EXPIRED_PAUSE = "wrap_expired_pause"  # ... or paused, as the campaign says
    FORCE_LOGOUT = "force_logout"  # a supervisor ends the session, whatever the agent is doing
    BREAK = "pause"  # alias kept for older callers


# (state, action) -> next state
_TABLE: dict[tuple[AgentState, AgentAction], AgentState] = {
    (AgentState.LOGGED_OUT, AgentAction.LOGIN): AgentState.PAUSED,
    (AgentState.PAUSED, AgentAction.READY): AgentState.READY,
    (AgentState.PAUSED, AgentAction.PAUSE): AgentState.PAUSED,  # a new reason for the same pause
    (AgentState.PAUSED, AgentAction.LOGOUT): AgentState.LOGGED_OUT,
    (AgentState.READY, AgentAction.READY): AgentState.READY,
    (AgentState.READY, AgentAction.PAUSE): AgentState.PAUSED,
    (AgentState.READY, AgentAction.LOGOUT): AgentState.LOGGED_OUT,
    (AgentState.READY, AgentAction.RESERVE): AgentState.RESERVED,
    (AgentState.READY, AgentAction.DIAL): AgentState.RESERVED,
    (AgentState.PAUSED, AgentAction.DIAL): AgentState.RESERVED,
    (AgentState.RESERVED, AgentAction.RELEASE): AgentState.READY,
    (AgentState.RESERVED, AgentAction.CONNECT): AgentState.ON_CALL,
    (AgentState.ON_CALL, AgentAction.HANGUP): AgentState.WRAP_UP,
    (AgentState.WRAP_UP, AgentAction.DISPOSE): AgentState.READY,
    (AgentState.WRAP_UP, AgentAction.WRAP_EXPIRED): AgentState.READY,
    (AgentState.WRAP_UP, AgentAction.WRAP_EXPIRED_PAUSE): AgentState.PAUSED,
    **{
        (state, AgentAction.FORCE_LOGOUT): AgentState.LOGGED_OUT
        for state in (AgentState.READY, AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP,
                      AgentState.PAUSED)
    },
}

#: States in which the agent is on a call (reserved for it, talking, or writing it up).
BUSY = frozenset({AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP})
#: States in which a pause or a log-out waits for the call to be disposed.
_DEFERRABLE = frozenset({AgentAction.PAUSE, AgentAction.LOGOUT})
#: Actions that end the agent's hold on a call (and apply a pending pause or log-out).
_ENDS_CALL = frozenset({AgentAction.RELEASE, AgentAction.DISPOSE, AgentAction.WRAP_EXPIRED})
_ABOUT_CALL = frozenset(
    {AgentAction.RELEASE, AgentAction.CONNECT, AgentAction.HANGUP, AgentAction.DISPOSE, AgentAction.WRAP_EXPIRED,
     AgentAction.WRAP_EXPIRED_PAUSE}
)

#: The pause reasons a floor starts with; ``AcdService`` takes its own list.
DEFAULT_PAUSE_REASONS: tuple[str, ...] = ("break", "lunch", "training", "meeting", "technical")


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """One agent's state, since when (the caller's monotonic seconds), and the call in hand."""

    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0
    call_id: str | None = None
    pending: AgentAction | None = None  # PAUSE or LOGOUT asked for while busy
    reason: str = ""  # the pause reason code while PAUSED
    pending_reason: str = ""  # the reason of a pending PAUSE

    @property
    def logged_in(self) -> bool:
        return self.state != AgentState.LOGGED_OUT

    @property
    def leaving(self) -> bool:
        """Busy now, and will not come back ready when the call is done."""
        return self.pending is not None and self.state in BUSY


def allowed(state: AgentState, action: AgentAction) -> bool:
    """Whether ``action`` is possible in ``state`` (deferred pauses and log-outs included)."""
    return (state, action) in _TABLE or (state in BUSY and action in _DEFERRABLE)


def apply(
    status: AgentStatus, action: AgentAction, at: float, *, call_id: str | None = None, reason: str = ""
) -> AgentStatus:
    """The status after ``action`` at ``at``, or ``InvalidTransition`` (and the status unchanged).

    ``call_id`` is required by RESERVE (the call offered) and checked by the actions that
    concern a call: an event about another call is refused, so a late event of an old call can
    never move the agent. ``reason`` is the pause reason of PAUSE (and of WRAP_EXPIRED_PAUSE).
    """
    state = status.state
    if state in BUSY and action in _DEFERRABLE:
        return replace(status, pending=action, pending_reason=reason if action == AgentAction.PAUSE else "")
    nxt = _TABLE.get((state, action))
    if nxt is None:
        raise InvalidTransition(f"agent: {action.value} not allowed in state {state.value}")
    if action in (AgentAction.RESERVE, AgentAction.DIAL):
        if not call_id:
            raise InvalidTransition(f"agent: {action.value} needs the call")
        return AgentStatus(state=nxt, since=at, call_id=call_id)
    if action in _ABOUT_CALL and call_id is not None and call_id != status.call_id:
        raise InvalidTransition(f"agent: {action.value} for call {call_id}, agent has {status.call_id}")
    if action in (AgentAction.CONNECT, AgentAction.HANGUP):
        return replace(status, state=nxt, since=at)
    if action in _ENDS_CALL and status.pending is not None:
        if status.pending == AgentAction.PAUSE:
            return AgentStatus(state=AgentState.PAUSED, since=at, reason=status.pending_reason)
        return AgentStatus(state=AgentState.LOGGED_OUT, since=at)
    if action == AgentAction.WRAP_EXPIRED_PAUSE and status.pending == AgentAction.LOGOUT:
        return AgentStatus(state=AgentState.LOGGED_OUT, since=at)
    if nxt == state == AgentState.PAUSED:
        # another reason for the same pause: the reason changes, the clock keeps running
        return status if reason == status.reason else replace(status, reason=reason)
    if nxt == state:
        return status  # READY again: nothing moves, the clock keeps running
    if nxt == AgentState.PAUSED:
        return AgentStatus(state=nxt, since=at, reason=reason or status.pending_reason)
    return AgentStatus(state=nxt, since=at)
