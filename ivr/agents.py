"""``AgentDesk`` for the standalone IVR: one target (a queue, a phone, a conference) in fixed hours.

``recobro serve`` wires the ACD instead; this one lets ``recobro ivr`` hand callers to a
dialplan queue, and the end-to-end tests reach an agent's phone without the ACD.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

from ivr.ports import AgentRequest, AgentTarget, Availability


class StaticAgentDesk:
    def __init__(
        self,
        target: AgentTarget | None,
        *,
        now: Callable[[], datetime],
        opens: time = time(9, 0),
        closes: time = time(20, 0),
        wait_seconds: float | None = None,
    ) -> None:
        self._target = target
        self._now = now
        self._opens = opens
        self._closes = closes
        self._wait = wait_seconds

    def is_open(self, at: datetime) -> bool:
        return self._target is not None and self._opens <= at.time() < self._closes

    def next_opening(self, at: datetime) -> datetime:
        day = at.date() if at.time() < self._opens else at.date() + timedelta(days=1)
        return datetime.combine(day, self._opens, tzinfo=at.tzinfo)

    async def availability(self, campaign_id: int | None, skills: tuple[str, ...]) -> Availability:
        now = self._now()
        if self.is_open(now):
            return Availability(open=True, wait_seconds=self._wait)
        return Availability(open=False, next_open=self.next_opening(now))

    async def reserve(self, request: AgentRequest, within: float) -> AgentTarget | None:
        return self._target if self.is_open(self._now()) else None

    async def release(self, call_id: str, connected: bool) -> None:
        return None
