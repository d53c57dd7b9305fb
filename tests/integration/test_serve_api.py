"""The web API's app factory over stand-in services: routes, the domain-error mapping, the pages."""

from __future__ import annotations

from typing import Any

import httpx2

from agent_desktop_api.app import create_app
from agent_desktop_api.auth import Authenticator
from agent_desktop_api.services import DesktopServices
from recobro.domain.errors import NotFound, ValidationError


class Campaigns:
    async def list_campaigns(self) -> list[dict[str, Any]]:
        return [{"id": 1, "name": "demo", "running": True, "dials": 4}]

    def live_metrics(self, campaign_id: int) -> dict[str, Any]:
        if campaign_id == 2:
            raise ValidationError("bad", field="campaign")
        if campaign_id != 1:
            raise NotFound(f"campaign {campaign_id} is not being dialed", code="campaign_not_running")
        return {"campaign_id": 1, "dials": 4}


class Agents:
    def agents_view(self) -> list[dict[str, Any]]:
        return [{"agent_id": 3, "state": "ready"}]


AUTH = Authenticator(None, secret="api-test-secret-0123456789", ttl_seconds=600)


async def _get(path: str, role: str | None = "supervisor") -> httpx2.Response:
    app = create_app(DesktopServices(campaigns=Campaigns(), agents=Agents(), auth=AUTH))
    headers = {}
    if role is not None:
        headers["Authorization"] = "Bearer " + AUTH.issue(agent_id=1, username="u", role=role)[0]
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://t",
                                  headers=headers) as client:
        return await client.get(path)


async def test_health_campaigns_metrics_and_agents() -> None:
    assert (await _get("/api/health")).json() == {"status": "ok", "telephony": "sim"}
    assert (await _get("/api/campaigns")).json() == {"campaigns": [{"id": 1, "name": "demo", "running": True,
                                                                     "dials": 4}]}
    assert (await _get("/api/campaigns/1/metrics")).json() == {"campaign_id": 1, "dials": 4}
    assert (await _get("/api/agents")).json() == {"agents": [{"agent_id": 3, "state": "ready"}]}


async def test_domain_errors_become_statuses_here_only() -> None:
    missing = await _get("/api/campaigns/9/metrics")
    assert missing.status_code == 404
    assert missing.json() == {"error": "campaign_not_running", "message": "campaign 9 is not being dialed"}
    invalid = await _get("/api/campaigns/2/metrics")
    assert invalid.status_code == 422 and invalid.json()["field"] == "campaign"
    assert (await _get("/api/campaigns/x/metrics")).status_code == 422  # not an id


async def test_every_api_route_wants_a_token_and_the_right_role() -> None:
    assert (await _get("/api/campaigns", role=None)).status_code == 401
    assert (await _get("/api/campaigns/1/metrics", role="agent")).status_code == 403
    assert (await _get("/api/health", role=None)).status_code == 200  # the load balancer's probe


async def test_the_web_pages_are_served() -> None:
    page = await _get("/login.html", role=None)
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert (await _get("/", role=None)).status_code == 200
