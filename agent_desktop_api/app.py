"""The FastAPI app factory: the API routes and the static web pages, over the platform's services.

``create_app`` takes the services built by ``recobro.runtime.wiring`` and knows nothing of how
they were built (simulated PBX or Asterisk). Domain errors become HTTP statuses here and only
here (``agent_desktop_api.errors``). Authentication and websockets come with the agent
desktop issue; this is what ``recobro serve`` needs to show a campaign's live figures.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from agent_desktop_api import errors, routes_campaigns, routes_health
from agent_desktop_api.services import DesktopServices

WEB = Path(__file__).parent / "web"


def create_app(services: DesktopServices, *, web: Path | None = WEB) -> FastAPI:
    app = FastAPI(title="Recobro", docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None)
    app.state.services = services
    errors.install(app)
    app.include_router(routes_health.router)
    app.include_router(routes_campaigns.router)
    if web is not None and web.is_dir():
        app.mount("/", StaticFiles(directory=web, html=True), name="web")
    return app
