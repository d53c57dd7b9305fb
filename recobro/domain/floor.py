"""What a pacing strategy sees of the floor, and what it learns from finished calls.

The dialer's strategies are pure: the live engine (Asterisk or the real-time simulated PBX)
and the virtual-time simulator both describe the moment as a ``FloorSnapshot`` and report what
happened to calls and agents as ``Observation`` values. Times are the caller's monotonic
seconds; the snapshot carries start times, not elapsed times, so that building one costs the
caller nothing per call and the strategy turns them into ages in one vectorized step.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FloorSnapshot:
    now: float
    logged_in: int  # agents logged in to the campaign, whatever their state
    ready: int  # agents ready for a call now
    leaving: int  # busy agents who log out (break, end of shift) when their call ends
    talk_started: Sequence[float]  # per agent talking to a person (not leaving): when the talk began
    wrap_started: Sequence[float]  # per agent in wrap-up (not leaving): when the wrap-up began
    machine_started: Sequence[float]  # per agent on a machine that AMD passed as a person
    ringing_since: Sequence[float]  # per call dialed and not yet answered: when it was dialed
    analysing_since: Sequence[float]  # per call answered, AMD still listening: when it was answered
    waiting: int  # people detected and waiting for an agent right now

    @property
    def in_flight(self) -> int:
        """Calls launched that have not reached an agent yet (nor ended)."""
        return len(self.ringing_since) + len(self.analysing_since) + self.waiting


class Seen(enum.StrEnum):
    """Kinds of observation a strategy learns from."""

    QUICK_FAIL = "quick_fail"  # busy, invalid, congestion: the network answered within seconds
    NO_ANSWER = "no_answer"  # rang until the dialer gave up
    ANSWERED = "answered"  # seconds = dial to answer
    NEEDS_AGENT = "needs_agent"  # AMD (or no AMD) says person; seconds = answer to verdict
    NO_AGENT_NEEDED = "no_agent_needed"  # AMD says machine; seconds = answer to verdict
    CONNECTED = "connected"  # a detected person reached an agent; seconds = wait
    ABANDONED = "abandoned"  # a detected person reached nobody in time
    TALK = "talk"  # seconds an agent talked with a person
    WRAP = "wrap"  # seconds of wrap-up after a talk
    MACHINE_AT_AGENT = "machine_at_agent"  # the agent found a machine; seconds the agent spent


@dataclass(frozen=True, slots=True)
class Observation:
    kind: Seen
    at: float
    seconds: float = 0.0
