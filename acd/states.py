"""The agent state machine.

Theory of operation: an agent is in exactly one state; what the agent does (log in, go ready,
take a break, dispose) and what the PBX reports (the call was bridged, the call ended) are
actions, and ``apply`` moves the agent along the table below or refuses. The table is the whole
truth: an action it does not list is an ``InvalidTransition`` that changes nothing.

    LOGGED_OUT ─login─► BREAK ─ready─► READY ─reserve─► RESERVED ─connect─► TALKING
                          ▲  ◄─break──   ▲  ◄─release──              │
                          │              │                          hangup
                          │              └──────────dispose──── WRAP_UP ◄┘
    READY, BREAK ─logout─► LOGGED_OUT

A freshly logged-in agent is not ready (``BREAK``) until they say so. An agent who asks for a
break or to log out while reserved, talking or in wrap-up keeps working: the request is kept as
``pending`` and applied by the disposition that ends the call, so a call is never cut short by
a break and the dialer can count the agent as leaving (``FloorSnapshot.leaving``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from recobro.domain.errors import InvalidTransition


class AgentState(enum.StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"  # chosen for a waiting person; the bridge is being made
    TALKING = "talking"
    WRAP_UP = "wrap_up"
    BREAK = "break"


class AgentAction(enum.StrEnum):
    LOGIN = "login"
    READY = "ready"
    BREAK = "break"
    LOGOUT = "logout"
    RESERVE = "reserve"  # the ACD offers a person to the agent
    RELEASE = "release"  # the offer fell through (the person hung up before the bridge)
    CONNECT = "connect"  # the PBX bridged the person with the agent
    HANGUP = "hangup"  # the call ended, whoever hung up
    DISPOSE = "dispose"  # the agent recorded what came of the call


# (state, action) -> next state
_TABLE: dict[tuple[AgentState, AgentAction], AgentState] = {
    (AgentState.LOGGED_OUT, AgentAction.LOGIN): AgentState.BREAK,
    (AgentState.BREAK, AgentAction.READY): AgentState.READY,
    (AgentState.BREAK, AgentAction.BREAK): AgentState.BREAK,  # a new reason for the same pause
    (AgentState.BREAK, AgentAction.LOGOUT): AgentState.LOGGED_OUT,
    (AgentState.READY, AgentAction.READY): AgentState.READY,
    (AgentState.READY, AgentAction.BREAK): AgentState.BREAK,
    (AgentState.READY, AgentAction.LOGOUT): AgentState.LOGGED_OUT,
    (AgentState.READY, AgentAction.RESERVE): AgentState.RESERVED,
    (AgentState.RESERVED, AgentAction.RELEASE): AgentState.READY,
    (AgentState.RESERVED, AgentAction.CONNECT): AgentState.TALKING,
    (AgentState.TALKING, AgentAction.HANGUP): AgentState.WRAP_UP,
    (AgentState.WRAP_UP, AgentAction.DISPOSE): AgentState.READY,
}

#: States in which the agent is on a call (reserved for it, talking, or writing it up).
BUSY = frozenset({AgentState.RESERVED, AgentState.TALKING, AgentState.WRAP_UP})
#: States in which a break or a log-out waits for the call to be disposed.
_DEFERRABLE = frozenset({AgentAction.BREAK, AgentAction.LOGOUT})


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """One agent's state, since when (the caller's monotonic seconds), and the call in hand."""

    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0
    call_id: str | None = None
    pending: AgentAction | None = None  # BREAK or LOGOUT asked for while busy

    @property
    def logged_in(self) -> bool:
        return self.state != AgentState.LOGGED_OUT

    @property
    def leaving(self) -> bool:
        """Busy now, and will not come back ready when the call is done."""
        return self.pending is not None and self.state in BUSY


def allowed(state: AgentState, action: AgentAction) -> bool:
    """Whether ``action`` is possible in ``state`` (deferred breaks and log-outs included)."""
    return (state, action) in _TABLE or (state in BUSY and action in _DEFERRABLE)


def apply(status: AgentStatus, action: AgentAction, at: float, *, call_id: str | None = None) -> AgentStatus:
    """The status after ``action`` at ``at``, or ``InvalidTransition`` (and the status unchanged).

    ``call_id`` is required by RESERVE (the call offered) and checked by the actions that
    concern a call (RELEASE, CONNECT, HANGUP, DISPOSE): an event about another call is refused,
    so a late event of an old call can never move the agent.
    """
    state = status.state
    if state in BUSY and action in _DEFERRABLE:
        return replace(status, pending=action)
    nxt = _TABLE.get((state, action))
    if nxt is None:
        raise InvalidTransition(f"agent: {action.value} not allowed in state {state.value}")
    if action == AgentAction.RESERVE:
        if not call_id:
            raise InvalidTransition("agent: reserve needs the call offered")
        return AgentStatus(state=nxt, since=at, call_id=call_id)
    if action in (AgentAction.RELEASE, AgentAction.CONNECT, AgentAction.HANGUP, AgentAction.DISPOSE):
        if call_id is not None and call_id != status.call_id:
            raise InvalidTransition(f"agent: {action.value} for call {call_id}, agent has {status.call_id}")
    if action == AgentAction.CONNECT:
        return replace(status, state=nxt, since=at)
    if action == AgentAction.HANGUP:
        return replace(status, state=nxt, since=at)
    if action in (AgentAction.RELEASE, AgentAction.DISPOSE):
        if status.pending is not None:
            after = AgentState.BREAK if status.pending == AgentAction.BREAK else AgentState.LOGGED_OUT
            return AgentStatus(state=after, since=at)
        return AgentStatus(state=nxt, since=at)
    if nxt == state:
        return status  # READY again or another BREAK: nothing moves, the clock keeps running
    return AgentStatus(state=nxt, since=at)
