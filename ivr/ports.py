"""What the IVR needs from outside: the ACD (to hand a caller to an agent) and its storage.

The IVR imports neither the ACD nor the dialer; ``recobro.runtime`` wires an adapter of the
ACD service to ``AgentDesk``. The standalone ``recobro ivr`` uses ``ivr.agents.StaticAgentDesk``
(one dial string, fixed hours). ``IvrStore`` is implemented by ``ivr.store.SqlIvrStore``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from ivr.flows.model import CampaignView, Credential, DebtorView


@dataclass(frozen=True, slots=True)
class AgentRequest:
    """A caller in the IVR who asked for an agent."""

    call_id: str
    account_id: int
    campaign_id: int | None
    number: str
    skills: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AgentTarget:
    """Where the caller goes to meet the agent.

    ``dial``: ``address`` is a dial string (the agent's phone or a queue), joined by ``Dial``.
    ``confbridge``: ``address`` is the agent's conference (``recobro-agent-<id>``, where the
    platform keeps a working agent); ``options`` are the bridge and user profiles.
    """

    kind: str  # "dial" | "confbridge"
    address: str
    options: str = ""


@dataclass(frozen=True, slots=True)
class Availability:
    open: bool  # agents work now (else a callback is offered)
    wait_seconds: float | None = None  # estimated wait, when known
    next_open: datetime | None = None  # next opening, local time of the call center


class AgentDesk(Protocol):
    async def availability(self, campaign_id: int | None, skills: tuple[str, ...]) -> Availability: ...

    async def reserve(self, request: AgentRequest, within: float) -> AgentTarget | None:
        """Where to send the caller: an agent reserved for them, or None if none in ``within`` s."""
        ...

    async def release(self, call_id: str, connected: bool) -> None:
        """The transfer ended (``connected``: the agent answered and talked)."""
        ...


@dataclass(frozen=True, slots=True)
class CallContext:
    """The call an IVR flow runs on."""

    call_id: str
    number: str  # the debtor's number, E.164 when known
    account_id: int | None = None
    campaign_id: int | None = None


IvrEvent = tuple[datetime, str, str]  # (at, kind, value) — values already masked


class IvrStore(Protocol):
    async def debtor(self, account_id: int) -> DebtorView | None: ...

    async def debtor_by_phone(self, e164: str) -> DebtorView | None:
        """The one account with this phone; None when no account or several have it."""
        ...

    async def debtor_by_reference(self, reference: str) -> DebtorView | None: ...

    async def campaign(self, campaign_id: int) -> CampaignView | None: ...

    async def campaign_for_account(self, account_id: int) -> CampaignView | None:
        """The terms of a campaign the account belongs to (for inbound calls)."""
        ...

    async def verify(self, account_id: int, credential: Credential, digits: str) -> bool: ...

    async def record(self, call: CallContext, events: list[IvrEvent]) -> None: ...

    async def save_promise(
        self,
        call: CallContext,
        *,
        amount: Decimal,
        currency: str,
        promised_for: date,
        at: datetime,
        events: list[IvrEvent],
    ) -> int:
        """Disposition, promise (source ``ivr``) and the pending events in one transaction."""
        ...

    async def finish(self, call: CallContext, *, outcome: str, at: datetime, events: list[IvrEvent]) -> None:
        """The outcome event (and, for a wrong party, its disposition) with the pending events."""
        ...

    async def save_callback(self, call: CallContext, *, due: datetime) -> int: ...
