"""Routing: hand-computed cases, then properties of the indexed pool on random floors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.routing import (
    ReadyAgent,
    ReadyPool,
    Requirements,
    RoutingRule,
    choose,
    longest_idle,
    meets,
    parse_rule,
    rank_key,
)
from recobro.domain.errors import ValidationError

SKILL, IDLE = RoutingRule.SKILL_THEN_IDLE, RoutingRule.LONGEST_IDLE


def ag(
    i: int,
    since: float,
    skills: dict[str, int] | None = None,
    langs: str = "es",
    segments: str = "",
    campaigns: frozenset[int] = frozenset(),
) -> ReadyAgent:
    return ReadyAgent(
        id=i,
        ready_since=since,
        skills={"cobranza": 5} if skills is None else skills,
        languages=frozenset(langs.split()),
        segments=frozenset(segments.split()),
        campaigns=campaigns,
    )


@dataclass(frozen=True)
class Case:
    name: str
    agents: tuple[ReadyAgent, ...]
    need: Requirements
    rule: RoutingRule
    expected: int | None


COBRANZA = Requirements(skills=("cobranza",))
CASES = [
    Case("level beats idle time", (ag(1, 10.0, {"cobranza": 5}), ag(2, 50.0, {"cobranza": 8})), COBRANZA, SKILL, 2),
    Case(
        "idle decides among equal levels",
        (ag(1, 30.0, {"cobranza": 7}), ag(2, 20.0, {"cobranza": 7}), ag(3, 25.0, {"cobranza": 7})),
        COBRANZA,
        SKILL,
        2,
    ),
    Case(
        "longest idle ignores the level",
        (ag(1, 10.0, {"cobranza": 2}), ag(2, 50.0, {"cobranza": 9})),
        COBRANZA,
        IDLE,
        1,
    ),
    Case("equal level and time: the lower id", (ag(7, 10.0), ag(3, 10.0), ag(5, 10.0)), COBRANZA, SKILL, 3),
    Case(
        "language mismatch excluded",
        (ag(1, 1.0, langs="en"), ag(2, 9.0, langs="es en")),
        Requirements(language="es", skills=("cobranza",)),
        SKILL,
        2,
    ),
    Case(
        "agent without languages is not given a language",
        (ag(1, 1.0, langs=""),),
        Requirements(language="es"),
        IDLE,
        None,
    ),
    Case(
        "minimum level excludes",
        (ag(1, 1.0, {"cobranza": 2}), ag(2, 9.0, {"cobranza": 3})),
        Requirements(skills=("cobranza",), min_level=3),
        IDLE,
        2,
    ),
    Case(
        "the first skill ranks, the second is a gate",
        (
            ag(1, 1.0, {"cobranza": 9, "legal": 1}),
            ag(2, 2.0, {"cobranza": 4, "legal": 9}),
            ag(3, 0.0, {"cobranza": 10}),
        ),
        Requirements(skills=("cobranza", "legal")),
        SKILL,
        1,
    ),
    Case(
        "segment: specialists and generalists",
        (ag(1, 1.0, segments="alto"), ag(2, 2.0, segments="bajo medio"), ag(3, 3.0)),
        Requirements(segment="medio"),
        IDLE,
        2,
    ),
    Case(
        "campaign: an agent of another campaign is excluded",
        (ag(1, 1.0, campaigns=frozenset({2})), ag(2, 2.0, campaigns=frozenset({1, 2}))),
        Requirements(campaign_id=1),
        IDLE,
        2,
    ),
    Case("nobody has the skill", (ag(1, 1.0),), Requirements(skills=("legal",)), SKILL, None),
    Case(
        "no skills required: longest idle under either rule",
        (ag(1, 5.0, {"cobranza": 9}), ag(2, 4.0, {"cobranza": 1})),
        Requirements(),
        SKILL,
        2,
    ),
    Case("empty floor", (), Requirements(), IDLE, None),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hand_computed_choice(case: Case) -> None:
    ref = choose(case.agents, case.need, case.rule)
    assert (ref.id if ref else None) == case.expected
    pooled = ReadyPool(case.agents).choose(case.need, case.rule)
    assert (pooled.id if pooled else None) == case.expected


def test_pool_forgets_agents_who_leave_and_reindexes_a_new_ready_time() -> None:
    pool = ReadyPool([ag(1, 1.0), ag(2, 2.0), ag(3, 3.0)])
    assert pool.choose(COBRANZA, IDLE).id == 1  # type: ignore[union-attr]
    assert pool.remove(1) is not None
    assert pool.remove(1) is None
    assert pool.choose(COBRANZA, IDLE).id == 2  # type: ignore[union-attr]
    pool.add(ag(2, 9.0))  # ready again after a call: now the most recent
    assert [a.id for a in pool.agents()] == [3, 2]
    assert len(pool) == 2 and 2 in pool and 1 not in pool
    pool.remove(2)
    pool.remove(3)
    assert pool.choose(COBRANZA, SKILL) is None and len(pool) == 0


def test_parse_rule_names_the_accepted_values() -> None:
    assert parse_rule("longest_idle") is IDLE
    assert parse_rule("skill_then_idle") is SKILL
    with pytest.raises(ValidationError) as err:
        parse_rule("random")
    assert err.value.field == "routing_rule"
    assert "skill_then_idle" in err.value.message and "Regla de ruteo" in err.value.message


def test_minimum_level_out_of_range_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"min_level|Nivel mínimo"):
        Requirements(min_level=0)


def test_longest_idle_kept_for_the_simulator() -> None:
    assert longest_idle({"a": 3.0, "b": 1.0, "c": 1.0}) == "b"
    with pytest.raises(ValueError):
        longest_idle({})


# --- properties ---------------------------------------------------------------------------

LANGS = ("es", "en")
SEGMENTS = ("bajo", "medio", "alto")
SKILLS = ("cobranza", "legal", "ingles")

agent_strategy = st.builds(
    lambda i, since, skills, langs, segs, camps: ReadyAgent(
        id=i,
        ready_since=since,
        skills=skills,
        languages=frozenset(langs),
        segments=frozenset(segs),
        campaigns=frozenset(camps),
    ),
    st.integers(0, 10_000),
    st.sampled_from([0.0, 1.0, 2.0, 3.0, 5.5, 8.0]),  # few values: many ties
    st.dictionaries(st.sampled_from(SKILLS), st.integers(0, 10), max_size=3),
    st.sets(st.sampled_from(LANGS), max_size=2),
    st.sets(st.sampled_from(SEGMENTS), max_size=2),
    st.sets(st.integers(1, 3), max_size=2),
)
need_strategy = st.builds(
    Requirements,
    campaign_id=st.none() | st.integers(1, 3),
    language=st.none() | st.sampled_from(LANGS),
    segment=st.none() | st.sampled_from(SEGMENTS),
    skills=st.lists(st.sampled_from(SKILLS), max_size=2, unique=True).map(tuple),
    min_level=st.integers(1, 10),
)


def _unique(agents: list[ReadyAgent]) -> list[ReadyAgent]:
    return list({a.id: a for a in agents}.values())


@settings(max_examples=400, deadline=None)
@given(
    st.lists(agent_strategy, max_size=40).map(_unique),
    need_strategy,
    st.sampled_from(list(RoutingRule)),
    st.lists(st.integers(0, 10_000), max_size=10),
)
def test_the_pool_picks_an_eligible_agent_no_eligible_agent_beats(
    agents: list[ReadyAgent], need: Requirements, rule: RoutingRule, leaving: list[int]
) -> None:
    pool = ReadyPool(agents)
    for i in leaving:  # agents who stop being ready must never be chosen
        pool.remove(i)
    ready = [a for a in agents if a.id not in set(leaving)]
    chosen = pool.choose(need, rule)
    eligible = [a for a in ready if meets(a, need)]
    if chosen is None:
        assert eligible == []
        return
    assert chosen.id not in set(leaving)
    assert meets(chosen, need)
    best = rank_key(chosen, need, rule)
    assert not any(rank_key(a, need, rule) < best for a in eligible)
    assert chosen is choose(ready, need, rule)


def test_the_benchmark_runs_and_prints_its_figures() -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    args = [sys.executable, str(root / "bench" / "acd_routing.py"), "--reps", "200", "--agents", "300"]
    done = subprocess.run(args, capture_output=True, text=True, check=True, cwd=root, timeout=120)
    out = json.loads(done.stdout)
    assert out["agents"] == 300 and out["waiting"] == 100
    for key in ("call_arrives", "call_arrives_worst", "agent_ready", "agent_ready_worst"):
        figures = out[key]
        assert 0 < figures["p50_us"] <= figures["p99_us"] <= figures["max_us"]
