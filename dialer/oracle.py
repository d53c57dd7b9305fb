"""The oracle: a strategy that knows every call's fate in advance. Benchmarks only.

It is the upper bound the predictive engine is measured against, never a campaign mode (the
live engine cannot build one: only the simulator offers the ``FateView`` it needs). Knowing when
each agent will be free and when each dialed person will answer, it launches a call that will
reach a person exactly when an agent frees up (a little before, within the connect limit), and
the others (no answer, busy, machines) as they come in list order, since they cost no agent time.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Protocol

from recobro.domain.floor import FloorSnapshot, Observation


class FateView(Protocol):
    def peek(self, offset: int) -> tuple[bool, float, float] | None:
        """(needs an agent, seconds from dial to that moment, agent seconds) of an upcoming number."""

    def agent_free_times(self) -> list[float]: ...

    def pending_needs(self) -> list[tuple[float, float]]: ...


@dataclass
class OracleStrategy:
    view: FateView
    connect_within: float = 2.0
    tick: float = 0.25
    max_lookahead: int = 5000
    name: str = "oracle"

    def observe(self, seen: Observation) -> None:
        return None

    def machines_to_agents(self) -> bool:
        return False

    def launches(self, floor: FloorSnapshot) -> int:
        free = self.view.agent_free_times()
        if not free:
            return 0
        heapq.heapify(free)
        for need_at, work in self.view.pending_needs():
            start = max(heapq.heappop(free), need_at)
            heapq.heappush(free, start + work)
        slack = max(self.connect_within - self.tick, 0.0)
        count = 0
        while count < self.max_lookahead:
            fate = self.view.peek(count)
            if fate is None:
                break
            needs, delay, work = fate
            if needs:
                arrives = floor.now + delay
                earliest = free[0]
                # Launch when the person would arrive no earlier than slack before an agent frees.
                if arrives + slack < earliest:
                    break
                start = max(heapq.heappop(free), arrives)
                heapq.heappush(free, start + work)
            count += 1
        return count
