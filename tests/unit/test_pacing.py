"""Pacing strategies on hand-computed floors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dialer.estimates import HORIZONS, CallEstimates
from dialer.pacing import AbandonBudget, PredictiveStrategy, PreviewStrategy, RatioStrategy, _phi, progressive
from recobro.domain.floor import FloorSnapshot, Observation, Seen


def floor(
    *,
    ready: int = 0,
    logged_in: int = 10,
    ringing: tuple[float, ...] = (),
    waiting: int = 0,
    talk: tuple[float, ...] = (),
    now: float = 100.0,
) -> FloorSnapshot:
    return FloorSnapshot(
        now=now,
        logged_in=logged_in,
        ready=ready,
        leaving=0,
        talk_started=talk,
        wrap_started=(),
        machine_started=(),
        ringing_since=ringing,
        analysing_since=(),
        waiting=waiting,
    )


@pytest.mark.parametrize(
    ("ratio", "ready", "in_flight", "expected"),
    [
        (1.0, 3, 0, 3),  # progressive: one call per ready agent
        (1.0, 3, 3, 0),  # ... already one in flight each
        (1.0, 3, 5, 0),  # never negative
        (2.0, 3, 1, 5),  # dial level 2: six in flight for three agents
        (2.5, 3, 0, 7),  # floor(7.5)
        (3.0, 0, 0, 0),  # nobody ready: a ratio dialer waits
    ],
)
def test_ratio_strategy(ratio: float, ready: int, in_flight: int, expected: int) -> None:
    snap = floor(ready=ready, ringing=tuple(99.0 for _ in range(in_flight)))
    assert RatioStrategy(ratio).launches(snap) == expected


def test_progressive_is_ratio_one() -> None:
    strategy = progressive()
    assert strategy.name == "progressive"
    assert strategy.launches(floor(ready=4, ringing=(99.0,))) == 3
    assert not strategy.machines_to_agents()


def test_preview_never_dials_by_itself() -> None:
    from dialer.campaign_settings import strategy_for
    from recobro.domain.campaigns import Campaign, CampaignMode

    strategy = strategy_for(Campaign(name="p", mode=CampaignMode.PREVIEW))
    assert isinstance(strategy, PreviewStrategy)
    assert strategy.launches(floor(ready=5)) == 0
    assert not strategy.machines_to_agents()


def test_phi_matches_erf() -> None:
    xs = np.linspace(-6, 6, 241)
    exact = np.array([0.5 * (1 + math.erf(x / math.sqrt(2))) for x in xs])
    assert np.max(np.abs(_phi(xs) - exact)) < 2e-7


def _trusting(threshold: float) -> PredictiveStrategy:
    """A predictive engine past its warm-up with a fixed threshold and hand-made tables."""
    strategy = PredictiveStrategy(budget=AbandonBudget(target=0.03), estimates=CallEstimates())
    strategy.budget.connected = 10_000  # far past warm-up, nothing abandoned
    strategy.budget.threshold = threshold
    est = strategy.estimates
    est.refresh_every = 1e18  # keep the hand-made tables
    # Every new call needs an agent with chance 0.5, all at the 6th horizon (3 s).
    need = np.zeros(len(HORIZONS))
    need[4:] = 0.5
    est.new_call_need = need
    est.ringing = np.tile(need, (3, 1))
    est.restack()
    return strategy


def test_predictive_hand_computed() -> None:
    # Two agents ready, nothing in flight: the k-th extra call (k = 0, 1, 2...) finds no agent
    # with risk Phi((0.5 - (2 - 0.5 k)) / sqrt(0.25 k + 0.05)): k=0 ~ 0, k=1 0.0339, k=2 0.250.
    assert _trusting(0.05).launches(floor(ready=2)) == 2
    assert _trusting(0.30).launches(floor(ready=2)) == 3
    assert _trusting(0.20).launches(floor(ready=2)) == 2
    # With three agents: k=2 risk Phi((0.5 - 2) / sqrt(0.55)) = 0.0216; k=3 Phi(-1 / sqrt(0.8)) = 0.132.
    assert _trusting(0.03).launches(floor(ready=3)) == 3
    assert _trusting(0.02).launches(floor(ready=3)) == 3  # progressive floor
    assert _trusting(0.19).launches(floor(ready=3)) == 4


def test_predictive_counts_calls_in_flight_as_demand() -> None:
    # Two calls ringing (age 0, same table): demand 1.0 at the horizon already.
    # k=0: Phi((0.5 - 1) / sqrt(0.5 + 0.05)) = 0.250 > 0.05, so nothing more.
    assert _trusting(0.05).launches(floor(ready=2, ringing=(100.0, 100.0))) == 0
    assert _trusting(0.26).launches(floor(ready=2, ringing=(100.0, 100.0))) == 1


def test_predictive_without_data_is_progressive() -> None:
    strategy = PredictiveStrategy(budget=AbandonBudget(target=0.03), estimates=CallEstimates())
    assert strategy.launches(floor(ready=3)) == 3
    assert strategy.launches(floor(ready=3, ringing=(99.0,))) == 2
    assert strategy.launches(floor(ready=0, talk=(10.0,) * 10)) == 0


def test_predictive_never_exceeds_the_dial_ratio_cap() -> None:
    strategy = _trusting(0.5)
    strategy.max_dial_ratio = 1.5
    assert strategy.launches(floor(ready=10, logged_in=4)) == 6  # 1.5 x 4 logged-in agents


def test_live_change_of_target_takes_effect_on_the_next_tick() -> None:
    strategy = _trusting(0.30)
    snap = floor(ready=2)
    assert strategy.launches(snap) == 3  # one more call than agents: risk 0.250 < 0.30
    strategy.set_target(0.0)  # the supervisor allows no abandoned call at all
    assert strategy.launches(snap) == 2  # next tick: progressive, which cannot abandon
    strategy.set_target(0.03)
    assert strategy.budget.threshold == pytest.approx(strategy.budget.goal * strategy.budget.start_share)


def test_budget_controller_settles_at_its_goal() -> None:
    budget = AbandonBudget(target=0.03, amd_false_positive=0.01)
    goal = budget.goal  # 0.8 x (0.03 - 0.01) / 0.99
    assert goal == pytest.approx(0.016 / 0.99)
    start = budget.threshold
    # Abandoned exactly at the goal rate: the threshold ends where it began (within noise).
    every = round(1 / goal)
    for i in range(every * 40):
        budget.record(abandoned=(i % every == 0))
    assert budget.threshold == pytest.approx(start, rel=0.35)
    # A burst of abandons cuts the threshold hard.
    for _ in range(10):
        budget.record(abandoned=True)
    assert budget.threshold < start * 0.3


def test_budget_stops_predictive_pacing_when_the_run_nears_the_target() -> None:
    budget = AbandonBudget(target=0.03)
    budget.connected, budget.abandoned = 100, 2  # one more would make 3/103 = 2.9 % > 0.95 x 3 %
    assert budget.effective_threshold() == 1e-5
    budget.connected = 400
    assert budget.effective_threshold() == budget.threshold


def test_amd_errors_too_costly_for_the_target_send_machines_to_agents() -> None:
    lenient = AbandonBudget(target=0.03, amd_false_positive=0.01)
    strict = AbandonBudget(target=0.01, amd_false_positive=0.01)
    assert lenient.amd_hangups and lenient.fp == 0.01
    assert not strict.amd_hangups and strict.fp == 0.0
    assert strict.goal == pytest.approx(0.008)


def test_estimates_learn_the_answer_rate() -> None:
    est = CallEstimates()
    for i in range(2000):
        kind = Seen.ANSWERED if i % 5 == 0 else Seen.NO_ANSWER
        est.observe(Observation(kind, float(i), 8.0))
    assert est.answered.rate == pytest.approx(0.2, abs=0.02)
