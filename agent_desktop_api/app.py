"""The FastAPI app factory: the API routes, the websockets and the static web pages.

``create_app`` takes the services built by ``recobro.runtime.wiring`` and knows nothing of how
they were built (simulated PBX or Asterisk). Domain errors become HTTP statuses here and only
here (``agent_desktop_api.errors``). Every REST route and both websockets check the caller's
token and role (``agent_desktop_api.auth``); the websocket protocol is in ``PROTOCOL.md``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, WebSocket
from fastapi.staticfiles import StaticFiles

from agent_desktop_api import errors, routes_admin, routes_auth, routes_campaigns, routes_health, routes_records
from agent_desktop_api.services import DesktopServices
from agent_desktop_api.ws_agent import AgentHub, serve_agent
from agent_desktop_api.ws_supervisor import SupervisorHub, serve_supervisor

WEB = Path(__file__).parent / "web"


def create_app(services: DesktopServices, *, web: Path | None = WEB) -> FastAPI:
    app = FastAPI(title="Recobro", docs_url="/api/docs", openapi_url="/api/openapi.json", redoc_url=None)
    app.state.services = services
    app.state.agent_hub = AgentHub(services)
    app.state.supervisor_hub = SupervisorHub(services)
    errors.install(app)
    for module in (routes_health, routes_auth, routes_campaigns, routes_records, routes_admin):
        app.include_router(module.router)

    @app.websocket("/ws/agent")
    async def agent_socket(ws: WebSocket) -> None:
        await serve_agent(ws)

    @app.websocket("/ws/supervisor")
    async def supervisor_socket(ws: WebSocket) -> None:
        await serve_supervisor(ws)

    if web is not None and web.is_dir():
        app.mount("/", StaticFiles(directory=web, html=True), name="web")
    return app
