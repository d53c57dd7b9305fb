"""What the predictive engine has measured of its own campaign, as lookup tables.

The engine needs, for any call in flight and any agent at work, the chance that it turns into
a person who needs an agent (or into a free agent) within each of a few horizons. Those chances
depend only on how long the call has been ringing or the agent has been talking, so they are
precomputed on a grid of ages from the measured distributions and refreshed every so often;
deciding a tick is then one table lookup per call or agent.

Rates are exponentially weighted so that the estimates follow drift (the answer rate falls after
lunch); durations keep a sliding window of recent samples. Priors stand in until there are
measurements, weighted as a few dozen observations, so the first minutes are cautious rather
than wild.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
import numpy.typing as npt

from recobro.domain.floor import Observation, Seen

Table = npt.NDArray[np.float64]

#: Horizons (seconds from now) at which supply and demand are compared.
HORIZONS: Table = np.array(
    [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 15.0, 18.0, 22.0, 26.0, 30.0, 36.0]
)
RING_STEP = 0.5  # seconds per row of the ringing-age table
AMD_STEP = 0.25
WORK_STEP = 2.0
WORK_ROWS = 900  # talk ages up to 30 minutes; older calls use the last row
_QUANTILES = np.array([0.1, 0.3, 0.5, 0.7, 0.9])


@dataclass
class Priors:
    answer_rate: float = 0.35  # of dials, a person or a machine answers
    quick_fail_rate: float = 0.08
    needs_agent_given_answer: float = 0.55
    ring_seconds: float = 9.0
    amd_seconds: float = 2.5
    talk_seconds: float = 150.0
    wrap_seconds: float = 15.0
    machine_seconds: float = 6.0
    weight: float = 30.0  # prior counts as this many observations


@dataclass
class _Ew:
    """An exponentially weighted proportion with a prior."""

    value: float
    weight: float
    decay: float
    hits: float = 0.0
    total: float = 0.0

    def add(self, hit: bool) -> None:
        self.hits = self.hits * self.decay + (1.0 if hit else 0.0)
        self.total = self.total * self.decay + 1.0

    @property
    def rate(self) -> float:
        return (self.hits + self.value * self.weight) / (self.total + self.weight)


def _ecdf(samples: Table, points: Table) -> Table:
    """Empirical P(X <= x) at each point (samples sorted)."""
    found: Table = np.searchsorted(samples, points, side="right") / max(len(samples), 1)
    return found


def _survival_table(samples: Table, ages: Table, horizons: Table, extra: Table) -> Table:
    """P(X <= age + h - extra_m | X > age), averaged over the points ``extra`` (rows: ages)."""
    n = len(samples)
    base = _ecdf(samples, ages)  # (A,)
    target = ages[:, None, None] + horizons[None, :, None] - extra[None, None, :]
    done = _ecdf(samples, target.ravel()).reshape(target.shape).mean(axis=2)
    alive = 1.0 - base
    with np.errstate(divide="ignore", invalid="ignore"):
        table: Table = np.clip((done - base[:, None]) / alive[:, None], 0.0, 1.0)
    # Ages past (almost) every sample: no data on how long such a call lasts. Reuse the last
    # row that had data rather than pretending the call ends at once.
    valid = alive > max(1.0 / n, 1e-6) if n else np.zeros(len(ages), dtype=bool)
    if not valid.any():
        table[:] = 0.0
        return table
    last = int(np.nonzero(valid)[0][-1])
    table[last + 1 :] = table[last]
    return table


class _Stack:
    """Several age tables stacked, so that summing chances over every agent (or every call),
    whatever table each one reads, is one indexing and one sum."""

    def __init__(self, tables: list[tuple[Table, float]]) -> None:
        self.chance: Table = np.vstack([t for t, _ in tables])
        self.variance: Table = self.chance * (1.0 - self.chance)
        sizes = [len(t) for t, _ in tables]
        self.offsets = np.cumsum([0, *sizes[:-1]]).astype(np.int64)
        self.last_rows = np.array(sizes, dtype=np.int64) - 1
        self.inverse_steps = np.array([1.0 / step for _, step in tables])

    def sums(self, now: float, groups: tuple[Sequence[float], ...]) -> tuple[Table, Table]:
        """Sum of chances and of variances over everyone in ``groups`` (start times, one group per table)."""
        counts = [len(group) for group in groups]
        total = sum(counts)
        if total == 0:
            zero = np.zeros(self.chance.shape[1])
            return zero, zero.copy()
        starts = np.fromiter(chain.from_iterable(groups), dtype=float, count=total)
        scaled = (now - starts) * np.repeat(self.inverse_steps, counts)
        rows = np.minimum(scaled.astype(np.int64), np.repeat(self.last_rows, counts))
        index = np.maximum(rows, 0) + np.repeat(self.offsets, counts)
        chance: Table = self.chance[index].sum(axis=0)
        variance: Table = self.variance[index].sum(axis=0)
        return chance, variance


@dataclass
class CallEstimates:
    """Measured rates and durations of one campaign, and the tables built from them."""

    priors: Priors = field(default_factory=Priors)
    ring_timeout: float = 25.0
    connect_within: float = 2.0
    halflife_dials: float = 600.0
    window: int = 800
    refresh_every: float = 60.0  # seconds between table rebuilds

    def __post_init__(self) -> None:
        decay = 0.5 ** (1.0 / self.halflife_dials)
        p = self.priors
        self.answered = _Ew(p.answer_rate, p.weight, decay)
        self.quick = _Ew(p.quick_fail_rate, p.weight, decay)
        self.needs_agent = _Ew(p.needs_agent_given_answer, p.weight, 0.5 ** (1.0 / (self.halflife_dials / 3)))
        self.ring: deque[float] = deque(maxlen=self.window)
        self.amd: deque[float] = deque(maxlen=self.window)
        self.talk: deque[float] = deque(maxlen=self.window)
        self.wrap: deque[float] = deque(maxlen=self.window)
        self.machine: deque[float] = deque(maxlen=self.window)
        self.dials_seen = 0
        self.people_seen = 0
        self._built_at = -1e18
        self._dirty = True
        self._build()

    # -- learning ---------------------------------------------------------------------------
    def observe(self, seen: Observation) -> None:
        kind = seen.kind
        if kind is Seen.QUICK_FAIL:
            self.quick.add(True)
            self.answered.add(False)
            self.dials_seen += 1
        elif kind is Seen.NO_ANSWER:
            self.quick.add(False)
            self.answered.add(False)
            self.dials_seen += 1
        elif kind is Seen.ANSWERED:
            self.quick.add(False)
            self.answered.add(True)
            self.ring.append(seen.seconds)
            self.dials_seen += 1
        elif kind is Seen.NEEDS_AGENT or kind is Seen.NO_AGENT_NEEDED:
            self.needs_agent.add(kind is Seen.NEEDS_AGENT)
            self.amd.append(seen.seconds)
            self.people_seen += kind is Seen.NEEDS_AGENT
        elif kind is Seen.TALK:
            self.talk.append(seen.seconds)
        elif kind is Seen.WRAP:
            self.wrap.append(seen.seconds)
        elif kind is Seen.MACHINE_AT_AGENT:
            self.machine.append(seen.seconds)
        else:
            return
        self._dirty = True

    def _samples(self, values: deque[float], prior_mean: float) -> Table:
        """Recent samples, padded with a spread around the prior while there are few."""
        data = np.fromiter(values, dtype=float, count=len(values))
        missing = int(self.priors.weight) - len(data)
        if missing > 0:
            spread = prior_mean * np.exp(np.linspace(-0.8, 0.8, missing))
            data = np.concatenate([data, spread])
        return np.sort(data)

    # -- tables -----------------------------------------------------------------------------
    def maybe_refresh(self, now: float) -> None:
        if self._dirty and now - self._built_at >= self.refresh_every:
            self._build()
            self._built_at = now

    def _build(self) -> None:
        p = self.priors
        h = HORIZONS
        ring = self._samples(self.ring, p.ring_seconds)
        amd = self._samples(self.amd, p.amd_seconds)
        amd_q = np.quantile(amd, _QUANTILES)
        p_ans, p_quick = self.answered.rate, self.quick.rate
        p_none = max(1.0 - p_ans - p_quick, 0.0)
        p_need = self.needs_agent.rate
        self.p_need_per_dial = p_ans * p_need

        ring_ages = np.arange(0.0, self.ring_timeout + RING_STEP, RING_STEP)
        f_age = _ecdf(ring, ring_ages)
        target = ring_ages[:, None, None] + h[None, :, None] - amd_q[None, None, :]
        f_target = _ecdf(ring, target.ravel()).reshape(target.shape).mean(axis=2)
        gain = np.clip(f_target - f_age[:, None], 0.0, 1.0)
        quick_left = np.where(ring_ages < 2.0, p_quick, 0.0)
        alive = p_ans * (1.0 - f_age) + np.where(ring_ages < self.ring_timeout, p_none, 0.0) + quick_left
        with np.errstate(divide="ignore", invalid="ignore"):
            self.ringing = np.nan_to_num(p_ans * p_need * gain / alive[:, None])
        self.ringing = np.clip(self.ringing, 0.0, 1.0)

        amd_ages = np.arange(0.0, float(amd.max()) + 2 * AMD_STEP, AMD_STEP)
        self.analysing = p_need * _survival_table(amd, amd_ages, h, np.zeros(1))
        self.analysing[-1] = p_need  # a verdict overdue comes any moment

        c = self.connect_within
        talk = self._samples(self.talk, p.talk_seconds)
        wrap = self._samples(self.wrap, p.wrap_seconds)
        machine = self._samples(self.machine, p.machine_seconds)
        wrap_q = np.quantile(wrap, _QUANTILES[1::2])
        work_ages = np.arange(0.0, WORK_ROWS * WORK_STEP, WORK_STEP)
        self.talking = _survival_table(talk, work_ages, h + c, wrap_q)
        wrap_ages = np.arange(0.0, float(wrap.max()) + 4 * AMD_STEP, AMD_STEP)
        self.wrapping = _survival_table(wrap, wrap_ages, h + c, np.zeros(1))
        mach_ages = np.arange(0.0, float(machine.max()) + 4 * AMD_STEP, AMD_STEP)
        self.on_machine = _survival_table(machine, mach_ages, h + c, np.zeros(1))
        # Where a new call's person arrives: the distribution over the horizon bins.
        self.new_call_need = self.ringing[0]
        self._dirty = False
        self.restack()

    def restack(self) -> None:
        """Stack the age tables for the per-tick sums (after a rebuild, or a test's own tables)."""
        self.supply = _Stack([(self.talking, WORK_STEP), (self.wrapping, AMD_STEP), (self.on_machine, AMD_STEP)])
        self.demand = _Stack([(self.ringing, RING_STEP), (self.analysing, AMD_STEP)])
