"""``GET /api/health``: is the platform up, and on which PBX."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from agent_desktop_api.services import DesktopServices

router = APIRouter()


@router.get("/api/health")
async def health(request: Request) -> dict[str, Any]:
    services: DesktopServices = request.app.state.services
    return {"status": "ok", "telephony": services.telephony}
