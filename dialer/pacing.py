"""Pacing strategies: how many calls to launch now.

Theory of operation. A person who answers must reach an agent within ``connect_within``
seconds (2 s under the FTC rule) or the call is abandoned. Let N(h) be the people who will
need an agent in the next h seconds (from calls already in flight, and from the calls we are
about to launch) and S(h) the agents who will be free by h + connect_within (ready now, or
finishing a talk, a wrap-up or a machine). A call launched now is abandoned when its person
arrives at some h with N(h) >= S(h + c) already. Both are sums of independent chances that the
measured distributions give (``dialer.estimates``), so the engine computes, for k = 1, 2, ...
extra calls, the probability that the k-th call's person finds no agent, and launches the
largest k whose risk stays under a threshold. Fewer launches leave agents idle; more spend the
abandon budget.

The threshold is tuned by the outcomes themselves (a stochastic-approximation controller):
every abandoned person lowers it, every connected person raises it a little, in the ratio
that settles at the pacing budget: the target abandon rate minus what AMD's false positives
already spend. A guard on the run's own cumulative rate pulls it back to progressive pacing
when the budget is nearly used. With little data or few agents the risk estimate itself is
wide, and the engine is blended with progressive pacing until it has seen enough calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from dialer.estimates import CallEstimates, Priors
from recobro.domain.floor import FloorSnapshot, Observation, Seen

Vector = npt.NDArray[np.float64]


class PacingStrategy(Protocol):
    name: str

    def launches(self, floor: FloorSnapshot) -> int:
        """How many calls to originate now."""

    def observe(self, seen: Observation) -> None:
        """Learn from what happened to a call or an agent."""

    def machines_to_agents(self) -> bool:
        """Whether calls AMD calls machines go to an agent anyway instead of being hung up on."""


@dataclass
class RatioStrategy:
    """A fixed dial level: ``ratio`` calls in flight per ready agent.

    ``ratio = 1`` is progressive dialing: never more calls than agents ready to take them, so a
    person is abandoned only when an agent leaves between the dial and the answer.
    """

    ratio: float = 1.0
    name: str = "ratio"

    def launches(self, floor: FloorSnapshot) -> int:
        wanted = math.floor(self.ratio * floor.ready + 1e-9)
        return max(0, wanted - floor.in_flight)

    def observe(self, seen: Observation) -> None:
        return None

    def machines_to_agents(self) -> bool:
        return False


def progressive(ratio: float = 1.0) -> RatioStrategy:
    return RatioStrategy(ratio=ratio, name="progressive")


@dataclass
class LinesStrategy:
    """Campaign mode ivr (voice broadcast): keep ``lines`` calls up, whatever the agents do.

    The IVR talks to every person itself, so the only limit is how many calls the IVR and the
    trunk carry at once; the calls in the IVR count as in flight (waiting, with no agent).
    """

    lines: int = 10
    name: str = "ivr_lines"

    def launches(self, floor: FloorSnapshot) -> int:
        return max(0, self.lines - floor.in_flight)

    def observe(self, seen: Observation) -> None:
        return None

    def machines_to_agents(self) -> bool:
        return False


@dataclass
class PreviewStrategy:
    """Campaign mode preview: the agent sees the account and asks for the call.

    The engine launches nothing by itself; each call is the agent's request from the desktop
    (preview, then dial or skip), checked against the compliance rules like any other dial.
    A supervisor switching a running campaign to preview therefore stops the automatic dialing
    at the next tick without dropping the calls already up.
    """

    name: str = "preview"

    def launches(self, floor: FloorSnapshot) -> int:
        return 0

    def observe(self, seen: Observation) -> None:
        return None

    def machines_to_agents(self) -> bool:
        return False


def _phi(x: Vector) -> Vector:
    """Standard normal CDF (Abramowitz-Stegun 7.1.26 on erf; |error| < 1.5e-7)."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    result: Vector = 0.5 * (1.0 + np.sign(x) * erf)
    return result


@dataclass
class AbandonBudget:
    """The run's abandon budget and the risk threshold that spends it.

    ``amd_false_positive`` is the share of people AMD takes for machines (measured by sampling
    recordings in production; given by the scenario in simulation): those are abandoned whatever
    the pacing does, so they come off the target first. When they would take more than
    ``amd_share_limit`` of the target (a strict target, or a poor AMD), the engine stops hanging
    up on AMD's machines and sends them to agents, who spend a few seconds on each machine but
    never abandon a person AMD misjudged.
    """

    target: float = 0.03
    amd_false_positive: float = 0.0
    amd_share_limit: float = 0.5
    margin: float = 0.8  # aim pacing at this share of what is left, so the run ends under target
    step: float = 0.15
    slow_at: float = 0.85  # share of the target at which the run's own rate halves the threshold
    stop_at: float = 0.95  # ... and at which pacing falls back to progressive
    threshold: float = 0.0
    abandoned: int = 0  # people the pacing could not connect
    connected: int = 0

    start_share: float = 0.33  # the first threshold, as a share of the goal: start cautious

    def __post_init__(self) -> None:
        self.threshold = max(self.goal * self.start_share, 1e-4)

    @property
    def amd_hangups(self) -> bool:
        """Whether hanging up on AMD's machines fits in the budget."""
        return self.amd_false_positive <= self.amd_share_limit * self.target

    @property
    def fp(self) -> float:
        """The share of live answers AMD abandons under the current routing."""
        return self.amd_false_positive if self.amd_hangups else 0.0

    def set_target(self, target: float) -> None:
        """A supervisor's live change: the next decision uses the new budget."""
        old_goal = self.goal
        self.target = target
        if old_goal > 0 and self.goal > 0:
            self.threshold = min(max(self.threshold * self.goal / old_goal, 1e-5), 0.5)
        else:
            self.threshold = max(self.goal * self.start_share, 1e-5)

    @property
    def goal(self) -> float:
        """Pacing abandons per detected person to aim at."""
        live_share = 1.0 - self.fp
        left = self.target - self.fp
        return max(left * self.margin / max(live_share, 1e-9), 0.0)

    def rate(self, extra: int = 0) -> float:
        """Estimated abandon rate of the run over live answers, AMD's share included, if
        ``extra`` more people were abandoned now."""
        people = self.abandoned + self.connected
        if people == 0:
            return 1.0 if extra else 0.0
        live = people / (1.0 - self.fp)
        return (self.abandoned + extra + live * self.fp) / live

    def record(self, abandoned: bool) -> None:
        goal = self.goal
        if goal <= 0.0:
            self.threshold = 1e-5
        elif abandoned:
            self.abandoned += 1
            self.threshold *= math.exp(-self.step)
        else:
            self.connected += 1
            self.threshold *= math.exp(self.step * goal / (1.0 - goal))
        self.threshold = min(max(self.threshold, 1e-5), 0.5)

    def effective_threshold(self) -> float:
        """The threshold, cut back when the run's cumulative rate nears the target."""
        # Judged as if the next person were abandoned too: with few people so far, one more
        # abandon moves the run's rate a lot, so the engine stays near progressive until the
        # run has room for it.
        rate = self.rate(extra=1)
        if rate >= self.target * self.stop_at:
            return 1e-5
        if rate >= self.target * self.slow_at:
            return min(self.threshold, max(self.goal, 1e-4) * 0.5)
        return self.threshold


@dataclass
class PredictiveStrategy:
    """The adaptive engine (see the module's theory of operation)."""

    budget: AbandonBudget = field(default_factory=AbandonBudget)
    estimates: CallEstimates = field(default_factory=CallEstimates)
    max_dial_ratio: float = 3.0  # calls in flight per logged-in agent, at most
    warmup_people: int = 40  # detected people before the engine trusts its estimates fully
    max_batch: int = 400
    name: str = "predictive"

    def machines_to_agents(self) -> bool:
        return not self.budget.amd_hangups

    def set_target(self, target: float) -> None:
        self.budget.set_target(target)

    def observe(self, seen: Observation) -> None:
        if seen.kind is Seen.CONNECTED:
            self.budget.record(abandoned=False)
        elif seen.kind is Seen.ABANDONED:
            self.budget.record(abandoned=True)
        self.estimates.observe(seen)

    def launches(self, floor: FloorSnapshot) -> int:
        est = self.estimates
        est.maybe_refresh(floor.now)
        cap = math.floor(self.max_dial_ratio * max(floor.logged_in - floor.leaving, 0)) - floor.in_flight
        base = max(0, floor.ready - floor.in_flight)  # progressive
        if cap <= 0:
            return 0
        supply_mean, supply_var = self._supply(floor)
        demand_mean, demand_var = self._demand(floor)
        q = est.new_call_need  # chance a new call needs an agent by each horizon
        total = float(q[-1])
        if total <= 1e-6:
            return min(base, cap)
        weights = np.diff(np.concatenate([[0.0], q])) / total  # when its person arrives
        # No point looking past the k at which demand is three deviations above supply at every
        # horizon that matters: the risk there is ~1.
        useful = q > 0.02 * total
        room = (supply_mean - demand_mean + 3.0 * np.sqrt(supply_var + demand_var) + 2.0)[useful] / q[useful]
        upper = int(min(cap, self.max_batch, max(float(room.max()), 0.0) + 2))
        if upper <= 0:
            return 0
        k = np.arange(0, upper, dtype=float)  # calls launched before this one
        mean = supply_mean[None, :] - demand_mean[None, :] - k[:, None] * q[None, :]
        var = supply_var[None, :] + demand_var[None, :] + k[:, None] * (q * (1.0 - q))[None, :] + 0.05
        risk = (_phi((0.5 - mean) / np.sqrt(var)) * weights[None, :]).sum(axis=1)
        threshold = self.budget.effective_threshold()
        predictive = int(np.searchsorted(risk, threshold, side="right"))  # risk rises with k
        trust = min(1.0, (self.budget.abandoned + self.budget.connected) / max(self.warmup_people, 1))
        wanted = round(base + (predictive - base) * trust) if predictive > base else predictive
        # Progressive launches can never abandon (an agent is ready for every call in flight),
        # whatever the normal approximation says about a handful of calls.
        return int(max(0, min(max(wanted, base), cap)))

    def _supply(self, floor: FloorSnapshot) -> tuple[Vector, Vector]:
        """Agents free by each horizon (+ connect_within): ready now, or done with their work."""
        groups = (floor.talk_started, floor.wrap_started, floor.machine_started)
        mean, var = self.estimates.supply.sums(floor.now, groups)
        return mean + float(floor.ready), var

    def _demand(self, floor: FloorSnapshot) -> tuple[Vector, Vector]:
        """People needing an agent by each horizon, from the calls already in flight."""
        mean, var = self.estimates.demand.sums(floor.now, (floor.ringing_since, floor.analysing_since))
        return mean + float(floor.waiting), var


def predictive(
    *,
    target: float,
    amd_false_positive: float,
    ring_timeout: float,
    connect_within: float,
    max_dial_ratio: float = 3.0,
    priors: Priors | None = None,
) -> PredictiveStrategy:
    return PredictiveStrategy(
        budget=AbandonBudget(target=target, amd_false_positive=amd_false_positive),
        estimates=CallEstimates(priors=priors or Priors(), ring_timeout=ring_timeout, connect_within=connect_within),
        max_dial_ratio=max_dial_ratio,
    )
