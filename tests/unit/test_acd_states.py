"""The agent state machine: every (state, action) pair is either in the table or refused unchanged."""

from __future__ import annotations

import itertools

import pytest

from acd.states import BUSY, AgentAction, AgentState, AgentStatus, allowed, apply
from recobro.domain.errors import InvalidTransition

S, A = AgentState, AgentAction
CALL = "00112233aabbccdd"

# Every allowed move: (from, action) -> to. Deferred break/log-out keep the state (tested below).
EXPECTED: dict[tuple[AgentState, AgentAction], AgentState] = {
    (S.LOGGED_OUT, A.LOGIN): S.BREAK,
    (S.BREAK, A.READY): S.READY,
    (S.BREAK, A.BREAK): S.BREAK,
    (S.BREAK, A.LOGOUT): S.LOGGED_OUT,
    (S.READY, A.READY): S.READY,
    (S.READY, A.BREAK): S.BREAK,
    (S.READY, A.LOGOUT): S.LOGGED_OUT,
    (S.READY, A.RESERVE): S.RESERVED,
    (S.READY, A.DIAL): S.RESERVED,
    (S.PAUSED, A.DIAL): S.RESERVED,
    (S.RESERVED, A.RELEASE): S.READY,
    (S.RESERVED, A.CONNECT): S.TALKING,
    (S.TALKING, A.HANGUP): S.WRAP_UP,
    (S.WRAP_UP, A.DISPOSE): S.READY,
    (S.WRAP_UP, A.WRAP_EXPIRED): S.READY,
    (S.WRAP_UP, A.WRAP_EXPIRED_PAUSE): S.PAUSED,
    **{(s, A.FORCE_LOGOUT): S.LOGGED_OUT for s in (S.READY, S.RESERVED, S.ON_CALL, S.WRAP_UP, S.PAUSED)},
}
DEFERRED = {(s, a) for s in BUSY for a in (A.BREAK, A.LOGOUT)}


def status_in(state: AgentState) -> AgentStatus:
    return AgentStatus(state=state, since=1.0, call_id=CALL if state in BUSY else None)


@pytest.mark.parametrize(("state", "action"), sorted(EXPECTED, key=str))
def test_allowed_moves(state: AgentState, action: AgentAction) -> None:
    after = apply(status_in(state), action, 5.0, call_id=CALL)
    assert after.state == EXPECTED[(state, action)]
    assert allowed(state, action)


@pytest.mark.parametrize(
    ("state", "action"),
    [p for p in itertools.product(AgentState, AgentAction) if p not in EXPECTED and p not in DEFERRED],
)
def test_everything_else_is_refused(state: AgentState, action: AgentAction) -> None:
    before = status_in(state)
    with pytest.raises(InvalidTransition):
        apply(before, action, 5.0, call_id=CALL)
    assert not allowed(state, action)


def test_a_change_of_state_restarts_the_clock_and_a_repeat_does_not() -> None:
    ready = apply(AgentStatus(S.BREAK, since=1.0), A.READY, 4.0)
    assert (ready.state, ready.since) == (S.READY, 4.0)
    again = apply(ready, A.READY, 9.0)
    assert again.since == 4.0  # still ready since 4: longest-idle order is not reset by a click


def test_reserve_carries_the_call_through_to_wrap_up_and_dispose_clears_it() -> None:
    st = apply(AgentStatus(S.READY, since=0.0), A.RESERVE, 1.0, call_id=CALL)
    assert (st.state, st.call_id) == (S.RESERVED, CALL)
    st = apply(st, A.CONNECT, 1.5, call_id=CALL)
    st = apply(st, A.HANGUP, 40.0, call_id=CALL)
    assert (st.state, st.since, st.call_id) == (S.WRAP_UP, 40.0, CALL)
    st = apply(st, A.DISPOSE, 48.0, call_id=CALL)
    assert (st.state, st.since, st.call_id) == (S.READY, 48.0, None)


def test_reserve_without_a_call_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        apply(AgentStatus(S.READY), A.RESERVE, 1.0)


def test_an_event_of_another_call_does_not_move_the_agent() -> None:
    talking = AgentStatus(S.TALKING, since=3.0, call_id=CALL)
    with pytest.raises(InvalidTransition, match="for call ffff"):
        apply(talking, A.HANGUP, 9.0, call_id="ffff0000ffff0000")


@pytest.mark.parametrize("busy", sorted(BUSY))
@pytest.mark.parametrize(("request_", "after"), [(A.BREAK, S.BREAK), (A.LOGOUT, S.LOGGED_OUT)])
def test_break_or_logout_while_busy_waits_for_the_call(
    busy: AgentState, request_: AgentAction, after: AgentState
) -> None:
    st = apply(status_in(busy), request_, 2.0)
    assert (st.state, st.pending, st.leaving) == (busy, request_, True)
    assert allowed(busy, request_)
    if busy == S.RESERVED:
        st = apply(st, A.RELEASE, 3.0, call_id=CALL)
    else:
        if busy == S.TALKING:
            st = apply(st, A.HANGUP, 3.0, call_id=CALL)
        st = apply(st, A.DISPOSE, 4.0, call_id=CALL)
    assert (st.state, st.pending, st.call_id, st.leaving) == (after, None, None, False)


def test_logged_in_and_leaving_flags() -> None:
    assert not AgentStatus().logged_in
    assert AgentStatus(S.BREAK).logged_in
    assert not AgentStatus(S.READY, pending=A.BREAK).leaving  # only a busy agent can be leaving


def test_a_pause_carries_its_reason_and_another_reason_keeps_the_clock() -> None:
    st = apply(AgentStatus(S.READY, since=1.0), A.PAUSE, 2.0, reason="lunch")
    assert (st.state, st.reason, st.since) == (S.PAUSED, "lunch", 2.0)
    st = apply(st, A.PAUSE, 5.0, reason="meeting")
    assert (st.reason, st.since) == ("meeting", 2.0)
    assert apply(st, A.READY, 6.0).reason == ""


def test_a_pending_pause_keeps_its_reason_until_the_disposition() -> None:
    st = apply(status_in(S.ON_CALL), A.PAUSE, 2.0, reason="training")
    assert (st.pending, st.pending_reason) == (A.PAUSE, "training")
    st = apply(apply(st, A.HANGUP, 3.0, call_id=CALL), A.DISPOSE, 4.0, call_id=CALL)
    assert (st.state, st.reason, st.pending) == (S.PAUSED, "training", None)


def test_the_wrap_up_limit_ends_the_wrap_up_ready_or_paused() -> None:
    wrap = status_in(S.WRAP_UP)
    assert apply(wrap, A.WRAP_EXPIRED, 9.0, call_id=CALL).state == S.READY
    paused = apply(wrap, A.WRAP_EXPIRED_PAUSE, 9.0, call_id=CALL, reason="wrap_up_limit")
    assert (paused.state, paused.reason, paused.call_id) == (S.PAUSED, "wrap_up_limit", None)
    with pytest.raises(InvalidTransition):
        apply(wrap, A.WRAP_EXPIRED, 9.0, call_id="ffff0000ffff0000")  # a timer of an older call
    leaving = apply(wrap, A.LOGOUT, 5.0)
    assert apply(leaving, A.WRAP_EXPIRED_PAUSE, 9.0, call_id=CALL).state == S.LOGGED_OUT


@pytest.mark.parametrize("busy", sorted(BUSY))
def test_force_logout_ends_a_busy_session_at_once(busy: AgentState) -> None:
    st = apply(status_in(busy), A.FORCE_LOGOUT, 7.0)
    assert (st.state, st.call_id, st.pending) == (S.LOGGED_OUT, None, None)
