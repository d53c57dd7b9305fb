"""What the web API needs from the platform: the services the composition root hands to ``create_app``.

The API calls services, never a telephony adapter; ``recobro.runtime.wiring`` builds these from
the dialer's engines, the ACD and the repositories. Everything but ``campaigns`` is optional so
that a test can build the app over the few parts it exercises; a route whose service is missing
answers 503 naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from recobro.bus import Bus
from recobro.telephony.clock import Clock

if TYPE_CHECKING:
    from acd.service import AcdService
    from agent_desktop_api.auth import Authenticator
    from dialer.engine import CampaignEngine


class CampaignsService(Protocol):
    async def list_campaigns(self) -> list[dict[str, Any]]:
        """Every campaign's settings, with the live metrics of those being dialed."""
        ...

    def live_metrics(self, campaign_id: int) -> dict[str, Any]:
        """The live metrics of a campaign being dialed; ``NotFound`` when it is not running."""
        ...


class AgentsView(Protocol):
    def agents_view(self) -> list[dict[str, Any]]: ...


class ManualDialer(Protocol):
    async def dial(self, *, agent_id: int, account_id: int, number: str, campaign_id: int) -> str:
        """Originate ``number`` for the agent (already compliance-checked); returns the call id."""
        ...


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds of the live API."""

    ws_message_bytes: int = 16 * 1024  # a larger client message is refused, the socket stays open
    metrics_seconds: float = 1.0  # the supervisor's metrics period (real seconds)
    callbacks_seconds: float = 5.0  # how often an agent's due callbacks are looked for
    ready_grace_seconds: float = 5.0  # a ready agent whose desktop is gone is paused after this


@dataclass(frozen=True, slots=True)
class DesktopServices:
    campaigns: CampaignsService
    agents: AgentsView | None = None
    telephony: str = "sim"
    auth: Authenticator | None = None
    acd: AcdService | None = None
    engines: Mapping[int, CampaignEngine] = field(default_factory=dict)
    sessions: async_sessionmaker[AsyncSession] | None = None
    db: AsyncEngine | None = None
    clock: Clock | None = None
    bus: Bus | None = None  # the ACD's agent.<id> state messages
    zone: str = "America/Mexico_City"
    region: str = "MX"
    reports_dir: Path | None = None  # where an uploaded list's rejected-rows report goes
    dialer: ManualDialer | None = None
    limits: Limits = field(default_factory=Limits)
