"""Route dependencies: the services, and who is calling with which role."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_desktop_api.auth import Authenticator, Identity, forbidden_role, unauthorized
from agent_desktop_api.errors import Unavailable
from agent_desktop_api.services import DesktopServices

if TYPE_CHECKING:
    from acd.service import AcdService

T = TypeVar("T")


def services(request: Request) -> DesktopServices:
    found: DesktopServices = request.app.state.services
    return found


def need(value: T | None, name: str) -> T:
    if value is None:
        raise Unavailable(name)
    return value


def authenticator(svc: DesktopServices) -> Authenticator:
    return need(svc.auth, "auth")


def sessions(svc: DesktopServices) -> async_sessionmaker[AsyncSession]:
    return need(svc.sessions, "database")


def acd(svc: DesktopServices) -> AcdService:
    return need(svc.acd, "acd")


def wall(svc: DesktopServices) -> datetime:
    return need(svc.clock, "clock").wall()


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def identity(request: Request) -> Identity:
    token = bearer(request)
    if token is None:
        raise unauthorized()
    return authenticator(services(request)).verify(token)


def supervisor(who: Annotated[Identity, Depends(identity)]) -> Identity:
    if who.role != "supervisor":
        raise forbidden_role("supervisor", who.role)
    return who


def agent(who: Annotated[Identity, Depends(identity)]) -> Identity:
    if who.role != "agent":
        raise forbidden_role("agent", who.role)
    return who


Anyone = Annotated[Identity, Depends(identity)]
Supervisor = Annotated[Identity, Depends(supervisor)]
Agent = Annotated[Identity, Depends(agent)]
Services = Annotated[DesktopServices, Depends(services)]
