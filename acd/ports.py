"""What the ACD needs from outside, and the values it hands out.

The ACD imports neither the dialer nor a storage adapter: ``recobro.runtime.wiring`` gives it an
``AgentStore`` (the SQL repository) and adapts its ``FloorView`` and ``CallOffer`` to the
dialer's own shapes. Times are the ACD clock's monotonic seconds unless typed ``datetime``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from acd.routing import RoutingRule
from recobro.domain.accounts import Account
from recobro.domain.dispositions import Disposition


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """Who an agent is, as routing needs it."""

    id: int
    username: str
    display_name: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)  # skill -> level 1-10
    campaigns: frozenset[int] = frozenset()  # campaigns the agent works
    endpoint: str = ""  # the agent's leg at the PBX (SIP endpoint); the username when empty

    @property
    def leg(self) -> str:
        return self.endpoint or f"agent-{self.username}"


@dataclass(frozen=True, slots=True)
class CampaignTerms:
    """What the ACD must know of a campaign it serves."""

    campaign_id: int
    required_skills: tuple[str, ...] = ()  # the first one ranks agents under skill_then_idle
    promise_horizon_days: int = 30
    routing_rule: RoutingRule = RoutingRule.SKILL_THEN_IDLE  # CampaignRow.routing_rule, parsed


@dataclass(frozen=True, slots=True)
class CallOffer:
    """A person on the line who needs an agent of ``campaign_id``."""

    call_id: str
    campaign_id: int
    account_id: int
    number: str
    skills: tuple[str, ...] | None = None  # None: the campaign's required skills (an IVR caller brings its own)


@dataclass(frozen=True, slots=True)
class Assignment:
    """The call an agent holds (reserved, talking or wrapping up)."""

    agent_id: int
    call_id: str
    campaign_id: int
    account_id: int
    number: str
    offered_at: float


@dataclass(frozen=True, slots=True)
class FloorView:
    """The ACD's agents of one campaign now (the dialer's pacing input)."""

    logged_in: int = 0
    ready: int = 0
    leaving: int = 0
    talk_started: Sequence[float] = ()  # reserved or talking, not leaving
    wrap_started: Sequence[float] = ()  # in wrap-up, not leaving
    by_state: Mapping[str, int] = field(default_factory=dict)
    utilization: float | None = None
    mean_wait_seconds: float | None = None


class AgentStore(Protocol):
    async def record_state(self, agent_id: int, from_state: str, to_state: str, reason: str, at: datetime) -> None:
        """One ``AgentStateChangeRow``."""
        ...

    async def account(self, account_id: int) -> Account:
        """The account (balance, currency, phones) a disposition is checked against."""
        ...

    async def save_disposition(
        self,
        *,
        disposition: Disposition,
        account_id: int,
        agent_id: int,
        call_id: str | None,
        campaign_id: int | None,
        number: str | None,
        currency: str,
        idempotency_key: str | None,
        at: datetime,
    ) -> int:
        """The disposition with its promise or callback, in one transaction; returns its id.

        A key already used returns the first disposition's id and writes nothing.
        """
        ...
