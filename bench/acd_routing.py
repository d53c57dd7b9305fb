"""ACD routing benchmark: one decision on a floor of 1,000 ready agents with 100 calls waiting.

Two decisions happen on a live floor, and both are timed, one call per repetition:

* ``call_arrives``: a person needs an agent; ``ReadyPool.choose`` picks among the ready ones
  (requirements drawn like a collections floor's: campaign, language, sometimes a segment,
  one or two skills at a minimum level; the rule alternates);
* ``agent_ready``: an agent who speaks English becomes ready; ``CallQueue.best_for`` finds the
  best waiting call they can take among the 100 (the calls wait because they need a rare
  agent: English, high legal level; overflow steps, some reached, some not).

Each also has a ``worst`` variant: requirements that only a handful of agents meet (the walk
falls back to scanning the smallest index bucket), and an agent who passes every test of every
waiting call but the last (the whole queue is read to the end of each check). Prints one JSON object, microseconds.

    .venv/bin/python bench/acd_routing.py [--agents 1000] [--waiting 100] [--reps 20000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable

from acd.queue import CallKind, CallQueue, parse_overflow
from acd.routing import ReadyAgent, ReadyPool, Requirements, RoutingRule

CAMPAIGNS = (1, 2, 3, 4, 5)
SEGMENTS = ("bajo", "medio", "alto")
OVERFLOW = parse_overflow(
    [{"after_seconds": 20, "relax": ["segment"]}, {"after_seconds": 45, "relax": ["language"], "min_level": 1}]
)


def floor(rng: random.Random, n: int) -> list[ReadyAgent]:
    agents = []
    for i in range(n):
        roll = rng.random()
        langs = {"es"} if roll < 0.85 else ({"en"} if roll < 0.95 else {"es", "en"})
        skills = {"cobranza": rng.randint(1, 10)}
        if rng.random() < 0.2:
            skills["legal"] = rng.randint(1, 10)
        if "en" in langs:
            skills["ingles"] = rng.randint(3, 10)
        segments = frozenset() if rng.random() < 0.5 else frozenset({rng.choice(SEGMENTS)})
        campaigns = frozenset(rng.sample(CAMPAIGNS, rng.randint(1, 2)))
        agents.append(ReadyAgent(i, rng.uniform(0, 600), skills, frozenset(langs), segments, campaigns))
    return agents


def typical_need(rng: random.Random) -> Requirements:
    return Requirements(
        campaign_id=rng.choice(CAMPAIGNS),
        language="es" if rng.random() < 0.9 else "en",
        segment=rng.choice(SEGMENTS) if rng.random() < 0.5 else None,
        skills=("cobranza",) if rng.random() < 0.8 else ("cobranza", "legal"),
        min_level=rng.randint(1, 6),
    )


RARE = Requirements(campaign_id=3, language="en", segment="alto", skills=("legal", "ingles"), min_level=9)


def queue_of(rng: random.Random, n: int, now: float) -> CallQueue:
    q = CallQueue()
    for k in range(n):
        at = now - rng.uniform(0, 60)
        kind = CallKind.PREDICTIVE if k % 4 == 0 else rng.choice([CallKind.INBOUND, CallKind.IVR_TRANSFER])
        need = Requirements(campaign_id=rng.choice(CAMPAIGNS), language="en", segment="alto",
                            skills=("legal",), min_level=8)  # fmt: skip
        deadline = now + 10.0 if kind is CallKind.PREDICTIVE else None  # still waiting now
        q.push(f"c{k}", kind, need, now=at, priority=rng.randint(0, 3), deadline=deadline,
               overflow=() if kind is CallKind.PREDICTIVE else OVERFLOW[:1])  # fmt: skip
    return q


def timed(reps: int, make: Callable[[int], Callable[[], object]]) -> dict[str, float]:
    """Mean, p50, p99 of one call (microseconds); the arguments are prepared outside the timing."""
    samples: list[float] = []
    clock = time.perf_counter_ns
    for r in range(reps):
        run = make(r)
        t0 = clock()
        run()
        samples.append((clock() - t0) / 1000.0)
    samples.sort()
    return {
        "mean_us": round(statistics.fmean(samples), 2),
        "p50_us": round(samples[len(samples) // 2], 2),
        "p99_us": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 2),
        "max_us": round(samples[-1], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--waiting", type=int, default=100)
    ap.add_argument("--reps", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    agents = floor(rng, args.agents)
    pool = ReadyPool(agents)
    now = 1000.0
    queue = queue_of(rng, args.waiting, now)
    needs = [typical_need(rng) for _ in range(1000)]
    rules = (RoutingRule.SKILL_THEN_IDLE, RoutingRule.LONGEST_IDLE)
    english = [a for a in agents if "en" in a.languages]
    # Passes every test of every waiting call but the last (legal 7 < 8): reads the whole queue.
    near_miss = ReadyAgent(-1, now, {"cobranza": 10, "legal": 7}, frozenset({"es", "en"}))
    found = sum(pool.choose(n, RoutingRule.SKILL_THEN_IDLE) is not None for n in needs)
    out = {
        "agents": len(pool),
        "waiting": len(queue),
        "reps": args.reps,
        "typical_needs_served": f"{found}/{len(needs)}",
        "rare_need_eligible": sum(
            1
            for a in agents
            if a.skills.get("legal", 0) >= 9
            and a.skills.get("ingles", 0) >= 9
            and "en" in a.languages
            and 3 in a.campaigns
            and (not a.segments or "alto" in a.segments)
        ),
        "call_arrives": timed(args.reps, lambda r: lambda: pool.choose(needs[r % len(needs)], rules[r % 2])),
        "call_arrives_worst": timed(args.reps, lambda r: lambda: pool.choose(RARE, rules[r % 2])),
        "agent_ready_takes": f"{sum(queue.best_for(a, now) is not None for a in english)}/{len(english)}",
        "agent_ready": timed(args.reps, lambda r: lambda: queue.best_for(english[r % len(english)], now)),
        "agent_ready_worst": timed(args.reps, lambda r: lambda: queue.best_for(near_miss, now)),
        "agent_leaves_and_returns": timed(
            args.reps, lambda r: lambda: pool.add(pool.remove(r % args.agents) or agents[r % args.agents])
        ),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
