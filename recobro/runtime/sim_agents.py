"""Simulated agents: they log in, go ready, talk, hang up and dispose, through the ACD service.

Each one listens on the bus to its own ``agent.<id>`` topic (what an agent's desktop listens to)
and acts through ``AcdService`` (what the desktop's API calls), so the demo exercises the same
path a person at a desk would. Talk and wrap-up times are drawn from the scenario; the
disposition is a plausible mixture (promises within the balance and the campaign's horizon,
refusals, callbacks, wrong parties...) validated by the ACD like any other.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

import numpy as np

from acd.service import AcdService
from acd.states import AgentState
from recobro.bus import LocalBus
from recobro.domain.dispositions import Disposition, DispositionCode
from recobro.domain.errors import DomainError, ValidationError
from recobro.telephony.clock import Clock
from recobro.telephony.sim.distributions import Duration

log = logging.getLogger(__name__)

#: What simulated conversations come to, and how often.
MIXTURE: tuple[tuple[DispositionCode, float], ...] = (
    (DispositionCode.PROMISE_TO_PAY, 0.30),
    (DispositionCode.REFUSED, 0.18),
    (DispositionCode.CALLBACK, 0.14),
    (DispositionCode.WRONG_PARTY, 0.10),
    (DispositionCode.DISPUTE, 0.05),
    (DispositionCode.PAID, 0.05),
    (DispositionCode.NO_ANSWER, 0.10),  # the line went quiet
    (DispositionCode.MACHINE, 0.08),  # a machine AMD let through
)
_CENT = Decimal("0.01")


def draw_disposition(
    rng: random.Random, *, balance: Decimal, now: datetime, today: date, horizon_days: int
) -> Disposition:
    """One plausible disposition, valid for ``validate_disposition`` with the same arguments."""
    codes = [c for c, _ in MIXTURE]
    weights = [w for _, w in MIXTURE]
    code = rng.choices(codes, weights)[0]
    notes = "Agente simulado / Simulated agent"
    if code == DispositionCode.PROMISE_TO_PAY:
        if balance < _CENT:
            return Disposition(DispositionCode.PAID, notes=notes)
        share = Decimal(str(round(rng.uniform(0.1, 1.0), 2)))
        amount = max(_CENT, min(balance, (balance * share).quantize(_CENT, rounding=ROUND_DOWN)))
        days = rng.randint(1, max(1, min(30, horizon_days)))
        return Disposition(code, notes=notes, promise_amount=amount, promise_date=today + timedelta(days=days))
    if code == DispositionCode.CALLBACK:
        hours = rng.randint(2, max(2, min(72, horizon_days * 24 - 1)))
        return Disposition(code, notes=notes, callback_at=now + timedelta(hours=hours))
    return Disposition(code, notes=notes)


class SimAgent:
    def __init__(self, agent_id: int, team: SimAgents) -> None:
        self.id = agent_id
        self._team = team
        self._talk: asyncio.Task[None] | None = None
        self._wrap: asyncio.Task[None] | None = None

    async def run(self) -> None:
        team = self._team
        async with team.bus.subscribe(f"agent.{self.id}") as sub:
            await team.acd.login(self.id)
            await team.acd.ready(self.id)
            try:
                while True:
                    _, message = await sub.get()
                    if message.get("type") != "state":
                        continue
                    state = message.get("state")
                    if self._talk is not None and state != AgentState.TALKING.value:
                        self._talk.cancel()  # the debtor hung up first
                        self._talk = None
                    if state == AgentState.TALKING.value:
                        self._talk = asyncio.create_task(self._hang_up_later())
                    elif state == AgentState.WRAP_UP.value and self._wrap is None:
                        self._wrap = asyncio.create_task(self._dispose_later())
            finally:
                for task in (self._talk, self._wrap):
                    if task is not None:
                        task.cancel()

    async def _hang_up_later(self) -> None:
        await self._team.clock.sleep(self._team.draw(self._team.talk))
        try:
            await self._team.acd.hangup(self.id)
        except DomainError as exc:
            log.debug("sim agent %s: hangup: %s", self.id, exc)

    async def _dispose_later(self) -> None:
        try:
            await self._team.clock.sleep(self._team.draw(self._team.wrap))
            await asyncio.shield(self.dispose_now())
        finally:
            self._wrap = None

    async def dispose_now(self) -> None:
        """Dispose the call in wrap-up now (at the end of the wrap time, or when the demo stops)."""
        team = self._team
        acd = team.acd
        if acd.status(self.id).state != AgentState.WRAP_UP:
            return
        held = acd.assignment(self.id)
        if held is None:
            return
        account = await acd.account(self.id)
        now = team.clock.wall()
        disposition = draw_disposition(
            team.rng, balance=account.balance, now=now, today=now.astimezone(team.zone).date(),
            horizon_days=team.horizon_days,
        )
        try:
            await acd.dispose(self.id, disposition, idempotency_key=f"sim-{held.call_id}")
        except ValidationError as exc:  # should not happen: the draw respects the rules
            log.warning("sim agent %s: disposition refused (%s); recorded as refused", self.id, exc)
            disposition = Disposition(DispositionCode.REFUSED, notes="Agente simulado / Simulated agent")
            await acd.dispose(self.id, disposition, idempotency_key=f"sim-{held.call_id}")
        team.codes[disposition.code.value] += 1


class SimAgents:
    """A team of simulated agents on one ACD; ``start`` runs them, ``stop`` disposes what is open."""

    def __init__(
        self,
        acd: AcdService,
        bus: LocalBus,
        clock: Clock,
        agent_ids: Sequence[int],
        *,
        talk: Duration,
        wrap: Duration,
        horizon_days: int = 30,
        zone: str = "America/Mexico_City",
        seed: int = 7,
    ) -> None:
        self.acd = acd
        self.bus = bus
        self.clock = clock
        self.talk = talk
        self.wrap = wrap
        self.horizon_days = horizon_days
        self.zone = ZoneInfo(zone)
        self.rng = random.Random(seed)
        self._np = np.random.Generator(np.random.PCG64(seed))
        self.codes: Counter[str] = Counter()
        self.agents = [SimAgent(i, self) for i in agent_ids]
        self._tasks: list[asyncio.Task[None]] = []

    def draw(self, duration: Duration) -> float:
        return float(duration.sample(self._np, 1)[0])

    @property
    def dispositions(self) -> int:
        return sum(self.codes.values())

    def start(self) -> None:
        for agent in self.agents:
            self._tasks.append(asyncio.create_task(agent.run(), name=f"sim-agent-{agent.id}"))

    async def stop(self) -> None:
        """Stop listening; calls already in wrap-up are disposed at once, so none is left open."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for agent in self.agents:
            try:
                await agent.dispose_now()
            except DomainError as exc:
                log.warning("sim agent %s: last disposition failed: %s", agent.id, exc)
