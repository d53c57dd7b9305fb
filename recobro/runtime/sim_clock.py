"""The platform's clock on the simulated PBX: loop time sped up, wall time inside business hours.

With the simulated PBX every part of the platform (the PBX, the dialer, the ACD, the simulated
agents) reads one ``SimClock``: ``speed`` 10 runs ten seconds of the campaign in one real second
for all of them at once, so a 2-second abandon deadline and a 40-second talk keep their ratio.
The wall time (what compliance checks against the calling windows, and what the rows record)
starts at a chosen moment: the real time when it is inside the hours every sample debtor may be
called, otherwise the next such moment (``sim_wall_start``), so the demo dials at any hour of
the night without ever breaking a rule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from recobro.telephony.clock import Handle

DEMO_ZONE = "America/Mexico_City"
#: Hours (Mexico City) when Mexican (7-22 h local) and US (8-21 h local, Hawaii to New York,
#: daylight saving or not) debtors may all be called.
DEMO_OPEN = (time(12, 0), time(17, 30))


class SimClock:
    """A ``Clock``: ``now`` runs ``speed`` times faster than the loop; ``wall`` starts at ``wall_start``."""

    def __init__(self, speed: float = 1.0, wall_start: datetime | None = None) -> None:
        if not speed > 0:
            raise ValueError("speed must be > 0")
        if wall_start is not None and wall_start.tzinfo is None:
            raise ValueError("wall_start must be timezone-aware")
        self.speed = float(speed)
        self._wall_start = wall_start
        self._origin: float | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def _base(self) -> float:
        if self._origin is None:
            self._origin = self.loop.time()
            if self._wall_start is None:
                self._wall_start = datetime.now(UTC)
        return self._origin

    def now(self) -> float:
        origin = self._base()
        return origin + (self.loop.time() - origin) * self.speed

    def wall(self) -> datetime:
        origin = self._base()
        assert self._wall_start is not None
        return self._wall_start + timedelta(seconds=self.now() - origin)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0) / self.speed)

    def call_at(self, when: float, callback: Callable[[], object]) -> Handle:
        origin = self._base()
        return self.loop.call_at(origin + (when - origin) / self.speed, callback)


def _open(moment: datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone).time()
    return DEMO_OPEN[0] <= local < DEMO_OPEN[1]


def sim_wall_start(real_now: datetime, last_dial: datetime | None, zone: str = DEMO_ZONE) -> tuple[datetime, bool]:
    """Where the demo's wall clock starts, and whether that is a simulated time (not the real one).

    The real time when it is inside ``DEMO_OPEN`` and after the last dial in the database;
    otherwise 12:00 in ``zone`` of the real day, moved past the last dial (so the attempts of an
    earlier run stay in the past and retry delays keep their meaning), and on to the next day
    when that leaves the open hours.
    """
    tz = ZoneInfo(zone)
    if _open(real_now, tz) and (last_dial is None or last_dial < real_now):
        return real_now, False
    local_day = real_now.astimezone(tz).date()
    start = datetime.combine(local_day, DEMO_OPEN[0], tzinfo=tz)
    if last_dial is not None and last_dial + timedelta(minutes=1) > start:
        start = last_dial + timedelta(minutes=1)
    for _ in range(3660):
        if _open(start, tz):
            return start.astimezone(UTC), True
        next_day = start.astimezone(tz).date() + timedelta(days=1)
        start = datetime.combine(next_day, DEMO_OPEN[0], tzinfo=tz)
    raise ValueError("no demo start found")  # pragma: no cover - the loop always finds a day
