"""Wiring for ``recobro simulate``: a scenario, a strategy from the dialer, the ACD's choice of
agent, and the virtual-time contact center. Returns the result as the contract's JSON keys."""

from __future__ import annotations

import dataclasses
from typing import Any

from acd.routing import longest_idle
from dialer.oracle import OracleStrategy
from dialer.pacing import PacingStrategy, RatioStrategy, predictive, progressive
from recobro.domain.errors import ValidationError
from recobro.telephony.sim.contact_center import ContactCenter, SimResult
from recobro.telephony.sim.scenario import Scenario

STRATEGIES = ("progressive", "ratio", "predictive", "oracle")
TICK_SECONDS = 0.25


def build_strategy(name: str, scenario: Scenario, center: ContactCenter, ratio: float | None) -> PacingStrategy:
    if name == "progressive":
        return progressive(ratio or 1.0)
    if name == "ratio":
        if ratio is None:
            raise ValidationError("--ratio es obligatorio con --strategy ratio / --ratio is required", field="ratio")
        return RatioStrategy(ratio=ratio)
    if name == "predictive":
        return predictive(
            target=scenario.target_abandon,
            amd_false_positive=scenario.amd.human_as_machine if scenario.amd.enabled else 0.0,
            ring_timeout=scenario.numbers.no_answer_timeout,
            connect_within=scenario.connect_within,
        )
    if name == "oracle":
        return OracleStrategy(view=center, connect_within=scenario.connect_within, tick=TICK_SECONDS)
    raise ValidationError(
        f"estrategia desconocida / unknown strategy {name!r} ({', '.join(STRATEGIES)})", field="strategy"
    )


class _Late:
    """Lets the contact center be built before the strategy that may need to look into it."""

    def __init__(self) -> None:
        self.inner: PacingStrategy | None = None

    def launches(self, floor: Any) -> int:
        assert self.inner is not None
        return self.inner.launches(floor)

    def observe(self, seen: Any) -> None:
        assert self.inner is not None
        self.inner.observe(seen)

    def machines_to_agents(self) -> bool:
        assert self.inner is not None
        return self.inner.machines_to_agents()


def simulate(
    scenario: Scenario, strategy: str, *, ratio: float | None = None, target: float | None = None
) -> dict[str, Any]:
    if ratio is not None and not 0.0 < ratio <= 50.0:
        raise ValidationError(f"--ratio debe estar entre 0 y 50 / must be in (0, 50], got {ratio}", field="ratio")
    if target is not None:
        if not 0.0 <= target <= 1.0:
            raise ValidationError(f"--target fuera de [0, 1] / out of [0, 1]: {target}", field="target")
        scenario = dataclasses.replace(scenario, target_abandon=target)
    late = _Late()
    center = ContactCenter(scenario, late, longest_idle, tick=TICK_SECONDS)
    late.inner = build_strategy(strategy, scenario, center, ratio)
    result = center.run()
    return report(scenario, strategy, result, ratio)


def _by_hour(r: SimResult) -> list[float]:
    """Abandoned / live answers in each hour of the run (0 where nobody answered)."""
    hours = max(len(r.live_by_hour), len(r.abandoned_by_hour))
    live = r.live_by_hour + [0] * (hours - len(r.live_by_hour))
    gone = r.abandoned_by_hour + [0] * (hours - len(r.abandoned_by_hour))
    return [round(a / n, 4) if n else 0.0 for a, n in zip(gone, live, strict=True)]


def report(scenario: Scenario, strategy: str, r: SimResult, ratio: float | None) -> dict[str, Any]:
    logged_hours = r.logged_seconds / 3600.0
    out: dict[str, Any] = {
        "strategy": strategy,
        "scenario": scenario.name,
        "seed": scenario.seed,
        "sim_hours": scenario.hours,
        "target_abandon": scenario.target_abandon,
        "dials": r.dials,
        "live_answers": r.live_answers,
        "machine_answers": r.machine_answers,
        "connects": r.connects,
        "abandoned": r.abandoned,
        "abandoned_by_amd": r.amd_abandoned,
        "abandon_rate": round(r.abandoned / r.live_answers, 6) if r.live_answers else 0.0,
        "agent_utilization": round(r.busy_seconds / r.logged_seconds, 6) if r.logged_seconds else 0.0,
        "talk_minutes_per_agent_hour": round(r.talk_seconds / 60.0 / logged_hours, 4) if logged_hours else 0.0,
        "mean_wait_seconds": round(r.ready_seconds / r.agent_calls, 3) if r.agent_calls else None,
        "max_dial_ratio": round(r.max_dial_ratio, 4),
        "machines_sent_to_agents": r.machines_at_agents,
        "list_exhausted": r.list_exhausted,
        "abandon_rate_by_hour": _by_hour(r),
        "wall_seconds": round(r.wall_seconds, 3),
    }
    if ratio is not None:
        out["ratio"] = ratio
    return out
