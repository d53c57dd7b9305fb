"""How fast the virtual-time simulator runs: eight simulated hours of fifty agents.

Runs the low-contact-50 scenario (the busiest per agent: ~130,000 dials in 8 h) stretched to
8 hours, once per strategy, and prints one JSON object with the wall seconds of each. The goal
from the pacing issue: under 60 s for the predictive engine on this machine.

    .venv/bin/python bench/simulate_speed.py [--scenario FILE] [--hours 8]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from recobro.runtime.simulation import simulate
from recobro.telephony.sim.scenario import load_scenario

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "scenarios" / "low-contact-50.toml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", type=Path, default=DEFAULT)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--strategies", default="predictive,progressive,oracle")
    args = parser.parse_args()
    scenario = dataclasses.replace(load_scenario(args.scenario), hours=args.hours)
    runs = {}
    for strategy in args.strategies.split(","):
        started = time.perf_counter()
        result = simulate(scenario, strategy)
        runs[strategy] = {
            "wall_seconds": round(time.perf_counter() - started, 2),
            "dials": result["dials"],
            "agent_utilization": result["agent_utilization"],
        }
    out = {
        "scenario": scenario.name,
        "sim_hours": args.hours,
        "agents": scenario.max_agents(),
        "runs": runs,
        "goal_wall_seconds": 60,
        "meets_goal": all(r["wall_seconds"] < 60 for r in runs.values()),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
