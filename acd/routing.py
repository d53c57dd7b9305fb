"""Which agent takes a person: pure choice over the agents ready now.

Fairness rule of a collections floor: among the agents who can take the call, the one who has
waited longest gets it, so that idle time is spread evenly and nobody is starved of calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

AgentKey = TypeVar("AgentKey")


def longest_idle(ready_since: Mapping[AgentKey, float]) -> AgentKey:
    """The agent ready the longest (ties: the first listed). ``ready_since`` must not be empty."""
    if not ready_since:
        raise ValueError("no agent is ready")
    best_key = None
    best_since = float("inf")
    for key, since in ready_since.items():
        if since < best_since:
            best_key, best_since = key, since
    assert best_key is not None
    return best_key
