"""The waiting queue: overflow format, relaxation in time, priority order, deadlines, dispatch."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.queue import (
    PREDICTIVE_CONNECT_SECONDS,
    CallKind,
    CallQueue,
    OverflowStep,
    parse_overflow,
    relaxed,
)
from acd.routing import ReadyAgent, ReadyPool, Requirements, RoutingRule, meets
from recobro.domain.errors import ValidationError

IN, PRED, IVR = CallKind.INBOUND, CallKind.PREDICTIVE, CallKind.IVR_TRANSFER


def ag(i: int, since: float = 0.0, langs: str = "es", segments: str = "", level: int = 5) -> ReadyAgent:
    return ReadyAgent(
        id=i,
        ready_since=since,
        skills={"cobranza": level},
        languages=frozenset(langs.split()),
        segments=frozenset(segments.split()),
    )


HIGH_ES = Requirements(language="es", segment="alto", skills=("cobranza",), min_level=5)

# --- overflow format ---------------------------------------------------------------------


def test_overflow_parses_and_relaxes_in_steps() -> None:
    steps = parse_overflow(
        [
            {"after_seconds": 10, "relax": ["segment"]},
            {"after_seconds": 30, "relax": ["language"], "min_level": 2},
            {"after_seconds": 60, "relax": ["skills", "campaign"]},
        ]
    )
    assert steps[0] == OverflowStep(10.0, frozenset({"segment"}))
    need = Requirements(campaign_id=1, language="es", segment="alto", skills=("cobranza",), min_level=5)
    # hand-computed: the steps are cumulative and apply from the second they name
    assert relaxed(need, steps, 9.99) == need
    assert relaxed(need, steps, 10.0) == Requirements(campaign_id=1, language="es", skills=("cobranza",), min_level=5)
    assert relaxed(need, steps, 30.0) == Requirements(campaign_id=1, skills=("cobranza",), min_level=2)
    assert relaxed(need, steps, 600.0) == Requirements(min_level=2)
    assert parse_overflow([]) == () and parse_overflow(None) == ()


BAD: list[tuple[Any, str, str]] = [
    ({"after_seconds": 5}, "overflow", "lista"),
    ([5], "overflow[0]", "objeto"),
    ([{"relax": ["segment"]}], "overflow[0].after_seconds", "falta"),
    ([{"after_seconds": -1, "relax": ["segment"]}], "overflow[0].after_seconds", ">= 0"),
    ([{"after_seconds": "10", "relax": ["segment"]}], "overflow[0].after_seconds", "número"),
    ([{"after_seconds": True, "relax": ["segment"]}], "overflow[0].after_seconds", "número"),
    (
        [{"after_seconds": 10, "relax": ["segment"]}, {"after_seconds": 10, "relax": ["language"]}],
        "overflow[1].after_seconds",
        "mayor que",
    ),
    ([{"after_seconds": 10, "relax": "segment"}], "overflow[0].relax", "lista"),
    ([{"after_seconds": 10, "relax": ["balance"]}], "overflow[0].relax", "'balance'"),
    ([{"after_seconds": 10, "relax": ["segment"], "min_level": 11}], "overflow[0].min_level", "1 a 10"),
    ([{"after_seconds": 10}], "overflow[0].relax", "no relaja nada"),
    ([{"after_seconds": 10, "relax": ["segment"], "wait": 3}], "overflow[0].wait", "desconocido"),
]


@pytest.mark.parametrize(("raw", "field", "text"), BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_bad_overflow_names_the_step_and_field(raw: Any, field: str, text: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_overflow(raw)
    assert err.value.field == field
    assert text in err.value.message
    assert " / " in err.value.message  # Spanish first, then English


# --- queue order and time ----------------------------------------------------------------


def test_overflow_step_relaxes_segment_after_n_seconds() -> None:
    q = CallQueue()
    steps = parse_overflow([{"after_seconds": 20, "relax": ["segment"]}])
    q.push("c1", IN, HIGH_ES, now=100.0, overflow=steps)
    medio = ag(1, segments="medio")
    assert q.best_for(medio, now=119.9) is None
    assert q.next_change(now=105.0) == 120.0
    took = q.take_for_agent(medio, now=120.0)
    assert took is not None and took.call_id == "c1" and len(q) == 0


def test_priority_then_oldest_then_arrival() -> None:
    q = CallQueue()
    need = Requirements(language="es")
    q.push("old-low", IN, need, now=1.0, priority=0)
    q.push("new-high", IVR, need, now=5.0, priority=2)
    q.push("old-high", IVR, need, now=3.0, priority=2)
    q.push("same-time-high", IN, need, now=3.0, priority=2)
    assert [c.call_id for c in q] == ["old-high", "same-time-high", "new-high", "old-low"]
    order = [q.take_for_agent(ag(i), now=6.0) for i in range(4)]
    assert [c.call_id for c in order if c] == ["old-high", "same-time-high", "new-high", "old-low"]


def test_an_agent_gets_the_best_call_they_can_take_not_the_best_call() -> None:
    q = CallQueue()
    q.push("en-urgent", IN, Requirements(language="en"), now=0.0, priority=9)
    q.push("es-later", IN, Requirements(language="es"), now=5.0)
    q.push("es-first", IN, Requirements(language="es"), now=1.0)
    took = q.take_for_agent(ag(1, langs="es"), now=6.0)
    assert took is not None and took.call_id == "es-first"
    assert [c.call_id for c in q] == ["en-urgent", "es-later"]


def test_predictive_calls_leave_at_the_connect_deadline() -> None:
    q = CallQueue()
    pred = q.push("p", PRED, Requirements(language="en"), now=10.0)
    soon = q.push("p-soon", PRED, Requirements(language="en"), now=10.0, deadline=11.0)
    inbound = q.push("i", IN, Requirements(language="en"), now=10.0)
    assert pred.deadline == 10.0 + PREDICTIVE_CONNECT_SECONDS == 12.0
    assert soon.deadline == 11.0 and inbound.deadline is None
    assert q.next_change(now=10.0) == 11.0
    assert q.expire(now=11.5) == [soon]
    assert q.expire(now=11.9) == []
    english = ag(1, langs="en")
    assert q.best_for(english, now=12.0) is inbound  # the predictive call is past its deadline
    assert q.expire(now=12.0) == [pred]
    assert list(q) == [inbound] and q.next_change(now=12.0) is None
    assert q.oldest_wait(now=40.0) == 30.0


def test_removed_calls_do_not_expire_and_cannot_be_queued_twice() -> None:
    q = CallQueue()
    q.push("p", PRED, Requirements(), now=0.0)
    assert q.remove("p") is not None and q.remove("p") is None
    assert q.expire(now=5.0) == [] and q.next_change(now=0.0) is None
    q.push("p", PRED, Requirements(), now=6.0)  # same id again later: a fresh deadline
    assert q.expire(now=7.0) == []
    with pytest.raises(ValueError, match="already waiting"):
        q.push("p", PRED, Requirements(), now=7.0)


def test_dispatch_after_relaxation_gives_each_call_the_best_remaining_agent() -> None:
    q = CallQueue()
    steps = parse_overflow([{"after_seconds": 15, "relax": ["segment"]}])
    q.push("a", IN, HIGH_ES, now=0.0, overflow=steps, priority=1)
    q.push("b", IN, HIGH_ES, now=5.0, overflow=steps, priority=1)
    pool = ReadyPool([ag(1, since=3.0, segments="bajo", level=9), ag(2, since=1.0, segments="bajo", level=6)])
    assert q.dispatch(pool, now=14.0) == []
    matches = q.dispatch(pool, now=15.0)  # "a" relaxed, "b" not yet: "a" gets the level-9 agent
    assert [(c.call_id, a.id) for c, a in matches] == [("a", 1)]
    matches = q.dispatch(pool, now=20.0)
    assert [(c.call_id, a.id) for c, a in matches] == [("b", 2)]
    assert len(q) == 0 and len(pool) == 0


# --- property ----------------------------------------------------------------------------

need_strategy = st.builds(
    Requirements,
    language=st.none() | st.sampled_from(["es", "en"]),
    segment=st.none() | st.sampled_from(["bajo", "alto"]),
    skills=st.sampled_from([(), ("cobranza",)]),
    min_level=st.integers(1, 9),
)
call_strategy = st.tuples(
    need_strategy,
    st.integers(0, 3),  # priority
    st.sampled_from([0.0, 1.0, 2.0, 4.0]),  # enqueued at
    st.sampled_from(list(CallKind)),
    st.booleans(),  # with an overflow plan
)
STEPS = parse_overflow([{"after_seconds": 2, "relax": ["segment"]}, {"after_seconds": 4, "relax": ["language"]}])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(call_strategy, max_size=12),
    st.sets(st.sampled_from(["es", "en"]), max_size=2),
    st.sampled_from(["", "bajo", "alto"]),
    st.integers(0, 10),
    st.sampled_from([4.0, 5.0, 6.5, 9.0]),
)
def test_take_for_agent_is_the_first_takeable_call_in_service_order(
    calls: list[tuple[Requirements, int, float, CallKind, bool]],
    langs: set[str],
    segment: str,
    level: int,
    now: float,
) -> None:
    q = CallQueue()
    for n, (need, prio, at, kind, over) in enumerate(calls):
        q.push(f"c{n}", kind, need, now=at, priority=prio, overflow=STEPS if over else ())
    agent = ReadyAgent(7, 0.0, {"cobranza": level}, frozenset(langs), frozenset(segment.split()))
    waiting = list(q)
    for c in waiting:  # the precomputed stages agree with applying the steps one by one
        assert c.requirements_at(now) == relaxed(c.requirements, c.overflow, now - c.enqueued_at)
    took = q.take_for_agent(agent, now)
    live = [c for c in waiting if c.deadline is None or c.deadline > now]
    takeable = [c for c in live if meets(agent, c.requirements_at(now))]
    if took is None:
        assert takeable == []
        return
    assert meets(agent, took.requirements_at(now))
    assert took.deadline is None or took.deadline > now
    assert took.kind is not CallKind.PREDICTIVE or now < took.enqueued_at + PREDICTIVE_CONNECT_SECONDS
    better = [c for c in takeable if (-c.priority, c.enqueued_at) < (-took.priority, took.enqueued_at)]
    assert better == []
    assert took.call_id not in q and len(q) == len(calls) - 1
    assert took.rule is RoutingRule.SKILL_THEN_IDLE
