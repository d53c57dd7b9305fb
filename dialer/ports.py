"""What the dialer needs from the rest of the platform, as Protocols.

The dialer never imports the ACD nor a storage adapter: ``recobro.runtime.wiring`` hands the
engine objects that fit these shapes (the ACD service, the SQL repositories, the hopper
source), and the tests hand it fakes. Times are the engine clock's monotonic seconds unless a
parameter says ``datetime``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from dialer.selection import Batch, Pick
from recobro.compliance.history import Attempt
from recobro.domain.calls import Call
from recobro.domain.campaigns import Campaign


@dataclass(frozen=True, slots=True)
class AgentFloor:
    """The ACD's agents of one campaign, as the pacing needs them (see ``FloorSnapshot``)."""

    logged_in: int = 0
    ready: int = 0
    leaving: int = 0
    talk_started: Sequence[float] = ()
    wrap_started: Sequence[float] = ()
    machine_started: Sequence[float] = ()
    by_state: Mapping[str, int] = field(default_factory=dict)
    utilization: float | None = None  # busy / logged-in time over the run
    mean_wait_seconds: float | None = None  # ready time per call taken, over the run


@dataclass(frozen=True, slots=True)
class PersonOffer:
    """A person on the line who needs an agent now."""

    call_id: str
    campaign_id: int
    account_id: int
    number: str
    required_skills: tuple[str, ...] = ()


class AgentDesk(Protocol):
    """The ACD as the dialer sees it."""

    def floor(self, campaign_id: int) -> AgentFloor:
        """The campaign's agents now."""
        ...

    async def offer(self, offer: PersonOffer, within: float) -> int | None:
        """Give the person to an agent (bridged through the port) within ``within`` seconds.

        Returns the agent's id, or None when nobody could take the person in time (the dialer
        then plays the abandon message). Cancelling the wait withdraws the offer.
        """
        ...


class NumberSource(Protocol):
    """The hopper with its candidates, history and callbacks (the DB-backed one in production)."""

    async def take(self, n: int, campaign: Campaign, now: datetime, *, agent_ready_now: bool) -> Batch:
        """Up to ``n`` picks that every rule allows at ``now``, each reserved until ``finished``."""
        ...

    def finished(self, pick: Pick, attempt: Attempt | None) -> None:
        """The call on ``pick`` is over (``attempt`` None: it was never placed); release it."""
        ...


WallOf = Callable[[float | None], datetime | None]


class CallLog(Protocol):
    """Where the engine writes its calls (a ``CallRow`` per attempt)."""

    async def insert(
        self, call: Call, *, campaign_id: int, account_id: int, number: str, mode: str, wall: WallOf
    ) -> None: ...

    async def save(self, call: Call, *, agent_id: int | None, wall: WallOf, outcome: str | None = None) -> None:
        """The call's new state; ``outcome`` overrides the call's own (the IVR's, in mode ivr)."""
        ...


class CampaignLog(Protocol):
    """Where live changes to a campaign are kept, with who and when."""

    async def apply_change(
        self, campaign_id: int, field: str, old: str, new: str, changed_by: str, at: datetime
    ) -> None: ...
