"""Accounts and their history, dispositions and promises with filters, KPIs, an agent's callbacks.

An agent sees their own records only: asking for another agent's dispositions, promises or
KPIs is refused (403) rather than silently narrowed, so a mistake in a client shows at once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from agent_desktop_api.auth import AuthError, Identity
from agent_desktop_api.deps import Agent, Anyone, Services, Supervisor, sessions, wall
from agent_desktop_api.kpis import Kpis
from agent_desktop_api.records import Records
from recobro.domain.errors import ValidationError

router = APIRouter(tags=["records"])


def _own(who: Identity, agent_id: int | None) -> int | None:
    """The agent filter a caller may use: an agent only their own id (default), a supervisor any."""
    if who.role == "supervisor":
        return agent_id
    if agent_id is not None and agent_id != who.agent_id:
        raise AuthError(403, "other_agent",
                        "Un agente solo ve sus propios registros / An agent sees only their own records")
    return who.agent_id


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValidationError(f"{name} debe llevar zona horaria / {name} must carry a time zone", field=name)
    return value


def _period(svc: Services, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """Default: today in the floor's zone."""
    if since is None or until is None:
        zone = ZoneInfo(svc.zone)
        start = wall(svc).astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        since = since or start
        until = until or start + timedelta(days=1)
    since, until = _aware(since, "since"), _aware(until, "until")
    assert since is not None and until is not None
    if until <= since:
        raise ValidationError("until debe ser posterior a since / until must be after since", field="until")
    return since, until


@router.get("/api/accounts")
async def accounts(who: Anyone, svc: Services, q: str = Query("", max_length=100), campaign_id: int | None = None,
                   limit: int = 50, offset: int = 0) -> dict[str, Any]:
    return {"accounts": await Records(sessions(svc)).accounts(q=q, campaign_id=campaign_id, limit=limit,
                                                              offset=offset)}


@router.get("/api/accounts/{account_id}")
async def account(account_id: int, who: Anyone, svc: Services) -> dict[str, Any]:
    """The account with its phones and history (payments, dispositions, promises, calls)."""
    return await Records(sessions(svc)).account(account_id, last=20)


@router.get("/api/dispositions")
async def dispositions(who: Anyone, svc: Services, campaign_id: int | None = None, agent_id: int | None = None,
                       account_id: int | None = None, code: str | None = None, since: datetime | None = None,
                       until: datetime | None = None, limit: int = 100) -> dict[str, Any]:
    found = await Records(sessions(svc)).dispositions(
        campaign_id=campaign_id, agent_id=_own(who, agent_id), account_id=account_id, code=code,
        since=_aware(since, "since"), until=_aware(until, "until"), limit=limit)
    return {"dispositions": found}


@router.get("/api/promises")
async def promises(who: Anyone, svc: Services, campaign_id: int | None = None, agent_id: int | None = None,
                   account_id: int | None = None, status: str | None = None, due_from: date | None = None,
                   due_to: date | None = None, limit: int = 100) -> dict[str, Any]:
    found = await Records(sessions(svc)).promises(
        campaign_id=campaign_id, agent_id=_own(who, agent_id), account_id=account_id, status=status,
        due_from=due_from, due_to=due_to, limit=limit)
    return {"promises": found}


@router.get("/api/kpis/campaigns/{campaign_id}")
async def campaign_kpis(campaign_id: int, who: Supervisor, svc: Services, since: datetime | None = None,
                        until: datetime | None = None) -> dict[str, Any]:
    start, end = _period(svc, since, until)
    return await Kpis(sessions(svc)).campaign(campaign_id, start, end)


@router.get("/api/kpis/agents")
async def agents_kpis(who: Supervisor, svc: Services, since: datetime | None = None,
                      until: datetime | None = None) -> dict[str, Any]:
    start, end = _period(svc, since, until)
    return {"agents": await Kpis(sessions(svc)).agents(start, end)}


@router.get("/api/kpis/agents/{agent_id}")
async def agent_kpis(agent_id: int, who: Anyone, svc: Services, since: datetime | None = None,
                     until: datetime | None = None) -> dict[str, Any]:
    start, end = _period(svc, since, until)
    own = _own(who, agent_id)
    assert own is not None
    return await Kpis(sessions(svc)).agent(own, start, end)


@router.get("/api/agents/me/callbacks")
async def my_callbacks(who: Agent, svc: Services, due: str = Query("all", pattern="^(today|all)$")) -> dict[str, Any]:
    until = None
    if due == "today":
        zone = ZoneInfo(svc.zone)
        until = wall(svc).astimezone(zone).replace(hour=23, minute=59, second=59)
    return {"callbacks": await Records(sessions(svc)).callbacks(who.agent_id, until=until)}
