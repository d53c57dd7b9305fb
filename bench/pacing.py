"""Pacing benchmark: every scenario x progressive, best fixed ratio, predictive, oracle.

Prints one JSON object (a row per scenario and strategy) and writes the markdown table into
bench/RESULTS.md between the pacing markers. The best fixed ratio is the highest dial level
(to 0.05) whose run stays under the scenario's target abandon rate, found by bisection on the
same seeded population the other strategies dial.

    .venv/bin/python bench/pacing.py [--scenarios DIR] [--target 0.01] [--only NAME]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from recobro.runtime.simulation import simulate
from recobro.telephony.sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIOS = ROOT.parent / "shared" / "scenarios"
RESULTS = ROOT / "bench" / "RESULTS.md"
KEYS = (
    "agent_utilization",
    "abandon_rate",
    "talk_minutes_per_agent_hour",
    "mean_wait_seconds",
    "dials",
    "wall_seconds",
)


def best_ratio(scenario: Scenario, target: float | None) -> dict[str, object]:
    """Highest fixed ratio under target: bisection between progressive (1.0) and 30."""
    limit = scenario.target_abandon if target is None else target
    low, high = 1.0, 30.0
    best = simulate(scenario, "ratio", ratio=low, target=target)
    if best["abandon_rate"] > limit:
        return best
    while high - low > 0.05:
        mid = round((low + high) / 2, 3)
        run = simulate(scenario, "ratio", ratio=mid, target=target)
        if run["abandon_rate"] <= limit:
            low, best = mid, run
        else:
            high = mid
    return best


def run_scenario(scenario: Scenario, target: float | None) -> list[dict[str, object]]:
    rows = [
        simulate(scenario, "progressive", target=target),
        best_ratio(scenario, target),
        simulate(scenario, "predictive", target=target),
        simulate(scenario, "oracle", target=target),
    ]
    return rows


def markdown(rows: list[dict[str, object]], title: str) -> str:
    lines = [
        f"### {title}",
        "",
        "| scenario | strategy | utilization | abandon rate (target) | talk min/agent-h | mean wait s "
        "| dials | wall s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        name = r["strategy"] if r["strategy"] != "ratio" else f"ratio {r['ratio']}"
        lines.append(
            f"| {r['scenario']} | {name} | {r['agent_utilization']:.3f} "
            f"| {r['abandon_rate']:.4f} ({r['target_abandon']}) "
            f"| {r['talk_minutes_per_agent_hour']:.1f} | {r['mean_wait_seconds']} "
            f"| {r['dials']} | {r['wall_seconds']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def write_results(block: str, marker: str) -> None:
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    section = f"{begin}\n{block}{end}"
    if begin in text:
        text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenarios", type=Path, default=DEFAULT_SCENARIOS)
    parser.add_argument("--target", type=float, default=None, help="override every scenario's target abandon rate")
    parser.add_argument("--only", default=None, help="one scenario name")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    files = sorted(args.scenarios.glob("*.toml"))
    if args.only:
        files = [f for f in files if f.stem == args.only]
    if not files:
        print(f"no scenarios in {args.scenarios}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    rows: list[dict[str, object]] = []
    for path in files:
        rows.extend(run_scenario(load_scenario(path), args.target))
        print(f"{path.stem}: done", file=sys.stderr)
    out = {"target_override": args.target, "rows": rows, "wall_seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(out))
    if not args.no_write:
        marker = "pacing" if args.target is None else f"pacing-target-{args.target}"
        title = "Pacing, scenario targets" if args.target is None else f"Pacing, target abandon {args.target}"
        write_results(markdown(rows, title), marker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
