"""What the web API needs from the platform: the services the composition root hands to ``create_app``.

The API calls services, never a telephony adapter; ``recobro.runtime.wiring`` builds these from
the dialer's engines, the ACD and the repositories.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class CampaignsService(Protocol):
    async def list_campaigns(self) -> list[dict[str, Any]]:
        """Every campaign's settings, with the live metrics of those being dialed."""
        ...

    def live_metrics(self, campaign_id: int) -> dict[str, Any]:
        """The live metrics of a campaign being dialed; ``NotFound`` when it is not running."""
        ...


class AgentsView(Protocol):
    def agents_view(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class DesktopServices:
    campaigns: CampaignsService
    agents: AgentsView | None = None
    telephony: str = "sim"
