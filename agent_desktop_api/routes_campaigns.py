"""Campaigns with their live figures (the supervisor's console and the campaigns page read these)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from agent_desktop_api.services import DesktopServices

router = APIRouter()


def _services(request: Request) -> DesktopServices:
    services: DesktopServices = request.app.state.services
    return services


@router.get("/api/campaigns")
async def list_campaigns(request: Request) -> dict[str, Any]:
    return {"campaigns": await _services(request).campaigns.list_campaigns()}


@router.get("/api/campaigns/{campaign_id}/metrics")
async def campaign_metrics(campaign_id: int, request: Request) -> dict[str, Any]:
    return _services(request).campaigns.live_metrics(campaign_id)


@router.get("/api/agents")
async def agents(request: Request) -> dict[str, Any]:
    view = _services(request).agents
    return {"agents": view.agents_view() if view is not None else []}
