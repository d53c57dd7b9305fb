"""Clocks: where the platform's time comes from.

The pure cores take time as an argument; adapters get it from a Clock. The loop clock is
asyncio's own; the virtual clock of ``recobro.telephony.sim`` runs a simulation's hours in
seconds. ``now()`` is monotonic seconds; ``wall()`` is the aware wall-clock time that
compliance rules need (calling windows, days).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Handle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> float: ...

    def wall(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...

    def call_at(self, when: float, callback: Callable[[], object]) -> Handle: ...


class LoopClock:
    """Real time, on the running asyncio loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop or asyncio.get_running_loop()

    def now(self) -> float:
        return self.loop.time()

    def wall(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def call_at(self, when: float, callback: Callable[[], object]) -> Handle:
        return self.loop.call_at(when, callback)


class FixedOffsetWall:
    """Maps a monotonic ``now`` to wall time from a chosen start (simulations, tests)."""

    def __init__(self, start: datetime, origin: float = 0.0) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.start = start
        self.origin = origin

    def at(self, now: float) -> datetime:
        return self.start + timedelta(seconds=now - self.origin)
