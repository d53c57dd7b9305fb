"""The platform's clock on the simulated PBX: speed for every part, wall time inside demo hours."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from recobro.runtime.sim_clock import SimClock, sim_wall_start

# Mexico City keeps UTC-6 all year: 12:00 there is 18:00 UTC.
NIGHT = datetime(2026, 3, 4, 8, 30, tzinfo=UTC)  # 02:30 in Mexico City
NOON = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)
AFTERNOON = datetime(2026, 3, 4, 20, 15, tzinfo=UTC)  # 14:15 in Mexico City


@pytest.mark.parametrize(
    ("real", "last", "start", "simulated"),
    [
        (AFTERNOON, None, AFTERNOON, False),  # inside the hours: real time
        (NIGHT, None, NOON, True),  # at night: noon of the same day
        (NIGHT, NOON + timedelta(minutes=5), NOON + timedelta(minutes=6), True),  # after the last run's dials
        (AFTERNOON, AFTERNOON + timedelta(minutes=1), AFTERNOON + timedelta(minutes=2), True),  # dials "ahead"
        (NIGHT, datetime(2026, 3, 4, 23, 29, tzinfo=UTC), datetime(2026, 3, 5, 18, 0, tzinfo=UTC), True),  # past 17:30
    ],
)
def test_the_demo_starts_inside_the_hours_and_after_the_last_dial(
    real: datetime, last: datetime | None, start: datetime, simulated: bool
) -> None:
    assert sim_wall_start(real, last) == (start, simulated)


async def test_speed_applies_to_now_sleep_timers_and_wall_time() -> None:
    clock = SimClock(speed=50.0, wall_start=NOON)
    t0, w0 = clock.now(), clock.wall()
    fired = asyncio.Event()
    clock.call_at(t0 + 5.0, fired.set)  # 5 s of campaign time: 0.1 s of real time
    await asyncio.wait_for(fired.wait(), 1.0)
    assert clock.now() - t0 >= 5.0
    await clock.sleep(2.5)
    elapsed = clock.now() - t0
    assert 7.5 <= elapsed < 10.0
    assert abs((clock.wall() - w0).total_seconds() - (clock.now() - t0)) < 0.05
    assert w0 - NOON < timedelta(seconds=1)


def test_a_naive_wall_start_or_a_null_speed_is_refused() -> None:
    with pytest.raises(ValueError):
        SimClock(speed=0)
    with pytest.raises(ValueError):
        SimClock(wall_start=datetime(2026, 3, 4, 12, 0))
