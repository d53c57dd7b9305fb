"""Campaigns and agents as a supervisor edits them: create, change, assign lists and agents, skills.

Values are checked by the same domain rules the dialer uses (``campaign_from_row`` builds the
domain campaign, which refuses a window that ends before it starts, a 72 % abandon target...),
inside the transaction, so a refused change writes nothing. Changes to a campaign being dialed
go live through its engine (the websocket controls); this is the stored configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from recobro.domain.campaigns import validate_pacing_limits
from recobro.domain.errors import Conflict, NotFound, ValidationError
from recobro.storage.models import (
    AccountRow,
    AgentRow,
    AgentSkillRow,
    CampaignAccountRow,
    CampaignAgentRow,
    CampaignRow,
)
from recobro.storage.repositories.campaigns import campaign_from_row

Sessions = async_sessionmaker[AsyncSession]


class CampaignIn(BaseModel):
    """A campaign's stored settings (all optional on an edit)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=100)
    mode: str | None = None
    window_start: str | None = Field(None, pattern=r"^\d{2}:\d{2}$")
    window_end: str | None = Field(None, pattern=r"^\d{2}:\d{2}$")
    target_abandon_rate: float | None = Field(None, ge=0, le=0.03)
    max_dial_ratio: float | None = Field(None, ge=1, le=10)
    wrap_up_limit_seconds: int | None = Field(None, ge=5, le=3600)
    promise_horizon_days: int | None = Field(None, ge=1, le=365)
    required_skills: list[str] | None = None
    retry: dict[str, Any] | None = None
    script: str | None = Field(None, max_length=20000)
    company_name: str | None = Field(None, min_length=1, max_length=100)
    callback_number: str | None = Field(None, pattern=r"^\+[1-9]\d{6,14}$")
    hopper_order: str | None = None
    paused: bool | None = None


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=200)
    role: str = Field("agent", pattern=r"^(agent|supervisor)$")
    skills: dict[str, int] = Field(default_factory=dict)
    extension: str | None = Field(None, max_length=50)
    campaigns: list[int] = Field(default_factory=list)


def _check_skills(skills: dict[str, int]) -> None:
    for name, level in skills.items():
        if not name or len(name) > 100:
            raise ValidationError(f"nombre de habilidad inválido / invalid skill name {name!r}", field="skills")
        if not 1 <= level <= 10:
            raise ValidationError(f"nivel de {name} fuera de 1-10 / level of {name} must be 1-10", field="skills",
                                  value=level)


def _apply(row: CampaignRow, data: CampaignIn) -> None:
    for key, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            raise ValidationError(f"{key} no puede ser nulo / {key} cannot be null", field=key)
        setattr(row, key, value)
    campaign = campaign_from_row(row)  # the domain's checks: mode, window, order, timeouts
    validate_pacing_limits(campaign.target_abandon_rate, campaign.max_dial_ratio)


def campaign_json(row: CampaignRow) -> dict[str, Any]:
    return {
        "id": row.id, "name": row.name, "mode": row.mode, "paused": row.paused,
        "target_abandon_rate": row.target_abandon_rate, "max_dial_ratio": row.max_dial_ratio,
        "window_start": row.window_start, "window_end": row.window_end,
        "required_skills": list(row.required_skills or []), "wrap_up_limit_seconds": row.wrap_up_limit_seconds,
        "promise_horizon_days": row.promise_horizon_days, "retry": row.retry or {}, "script": row.script,
        "company_name": row.company_name, "callback_number": row.callback_number, "hopper_order": row.hopper_order,
    }


class Admin:
    def __init__(self, sessions: Sessions, hash_password: Any) -> None:
        self._sessions = sessions
        self._hash = hash_password

    async def create_campaign(self, data: CampaignIn, now: datetime) -> dict[str, Any]:
        if not data.name:
            raise ValidationError("falta el nombre / the name is required", field="name")
        try:
            async with self._sessions() as s, s.begin():
                row = CampaignRow(name=data.name, created_at=now, paused=True, retry={}, required_skills=[],
                                  overflow=[], script="", abandon_message="")
                for column in CampaignRow.__table__.columns:  # the schema's defaults, before the checks
                    default = column.default
                    if getattr(row, column.key) is None and default is not None and default.is_scalar:
                        setattr(row, column.key, default.arg)
                _apply(row, data)
                s.add(row)
                await s.flush()
                return campaign_json(row)
        except IntegrityError:
            raise Conflict(f"ya existe la campaña / campaign already exists: {data.name}",
                           code="campaign_exists") from None

    async def edit_campaign(self, campaign_id: int, data: CampaignIn) -> dict[str, Any]:
        try:
            async with self._sessions() as s, s.begin():
                row = await s.get(CampaignRow, campaign_id)
                if row is None:
                    raise NotFound(f"no existe la campaña / no such campaign: {campaign_id}",
                                   code="campaign_not_found")
                _apply(row, data)
                await s.flush()
                return campaign_json(row)
        except IntegrityError:
            raise Conflict(f"ya existe la campaña / campaign already exists: {data.name}",
                           code="campaign_exists") from None

    async def assign_accounts(self, campaign_id: int, *, account_ids: Sequence[int] = (),
                              external_refs: Sequence[str] = (), replace: bool = False) -> dict[str, Any]:
        """Put accounts (by id or reference) on the campaign's list; unknown ones are returned, not added."""
        async with self._sessions() as s, s.begin():
            if await s.get(CampaignRow, campaign_id) is None:
                raise NotFound(f"no existe la campaña / no such campaign: {campaign_id}", code="campaign_not_found")
            found: dict[int, None] = {}
            if account_ids:
                q = select(AccountRow.id).where(AccountRow.id.in_(list(account_ids)))
                found.update(dict.fromkeys((await s.execute(q)).scalars()))
            refs_found: dict[str, int] = {}
            if external_refs:
                q2 = select(AccountRow.external_ref, AccountRow.id).where(
                    AccountRow.external_ref.in_(list(external_refs)))
                refs_found = {str(r): int(i) for r, i in (await s.execute(q2)).all()}
                found.update(dict.fromkeys(refs_found.values()))
            if replace:
                await s.execute(delete(CampaignAccountRow).where(CampaignAccountRow.campaign_id == campaign_id))
                have: set[int] = set()
            else:
                have = set((await s.execute(select(CampaignAccountRow.account_id).where(
                    CampaignAccountRow.campaign_id == campaign_id))).scalars())
            added = [a for a in found if a not in have]
            s.add_all(CampaignAccountRow(campaign_id=campaign_id, account_id=a) for a in added)
            total = len(have) + len(added)
        unknown = [a for a in account_ids if a not in found] + [r for r in external_refs if r not in refs_found]
        return {"campaign_id": campaign_id, "added": len(added), "accounts": total, "unknown": unknown}

    async def assign_agents(self, campaign_id: int, agent_ids: Sequence[int]) -> dict[str, Any]:
        """The campaign's agents become exactly ``agent_ids``."""
        async with self._sessions() as s, s.begin():
            if await s.get(CampaignRow, campaign_id) is None:
                raise NotFound(f"no existe la campaña / no such campaign: {campaign_id}", code="campaign_not_found")
            known = set((await s.execute(select(AgentRow.id).where(AgentRow.id.in_(list(agent_ids))))).scalars())
            missing = [a for a in agent_ids if a not in known]
            if missing:
                raise NotFound(f"agentes desconocidos / unknown agents: {missing}", code="agent_not_found")
            await s.execute(delete(CampaignAgentRow).where(CampaignAgentRow.campaign_id == campaign_id))
            s.add_all(CampaignAgentRow(campaign_id=campaign_id, agent_id=a) for a in sorted(known))
        return {"campaign_id": campaign_id, "agents": sorted(known)}

    async def agents(self) -> list[dict[str, Any]]:
        async with self._sessions() as s:
            rows = (await s.execute(select(AgentRow).options(selectinload(AgentRow.skills))
                                    .order_by(AgentRow.username))).scalars().all()
            links = (await s.execute(select(CampaignAgentRow.agent_id, CampaignAgentRow.campaign_id))).all()
        by_agent: dict[int, list[int]] = {}
        for agent_id, campaign_id in links:
            by_agent.setdefault(agent_id, []).append(campaign_id)
        return [{"id": r.id, "username": r.username, "display_name": r.display_name, "role": r.role,
                 "active": r.active, "extension": r.extension, "skills": {k.skill: k.level for k in r.skills},
                 "campaigns": sorted(by_agent.get(r.id, []))} for r in rows]

    async def create_agent(self, data: AgentIn) -> dict[str, Any]:
        _check_skills(data.skills)
        hashed = self._hash(data.password)
        try:
            async with self._sessions() as s, s.begin():
                row = AgentRow(username=data.username, display_name=data.display_name, role=data.role,
                               password_hash=hashed, languages=[], extension=data.extension, active=True)
                row.skills = [AgentSkillRow(skill=k, level=v) for k, v in data.skills.items()]
                s.add(row)
                await s.flush()
                for campaign_id in data.campaigns:
                    if await s.get(CampaignRow, campaign_id) is None:
                        raise NotFound(f"no existe la campaña / no such campaign: {campaign_id}",
                                       code="campaign_not_found")
                    s.add(CampaignAgentRow(campaign_id=campaign_id, agent_id=row.id))
                agent_id = row.id
        except IntegrityError:
            raise Conflict(f"ya existe el usuario / username taken: {data.username}", code="agent_exists") from None
        return {"id": agent_id, "username": data.username, "role": data.role, "skills": data.skills,
                "campaigns": data.campaigns}

    async def set_skills(self, agent_id: int, skills: dict[str, int]) -> dict[str, Any]:
        _check_skills(skills)
        async with self._sessions() as s, s.begin():
            if await s.get(AgentRow, agent_id) is None:
                raise NotFound(f"agente desconocido / unknown agent {agent_id}", code="agent_not_found")
            await s.execute(delete(AgentSkillRow).where(AgentSkillRow.agent_id == agent_id))
            s.add_all(AgentSkillRow(agent_id=agent_id, skill=k, level=v) for k, v in skills.items())
        return {"id": agent_id, "skills": skills}

    async def campaign_ids(self) -> list[int]:
        async with self._sessions() as s:
            return list((await s.execute(select(CampaignRow.id).order_by(CampaignRow.id))).scalars())

    async def count_accounts(self, campaign_id: int) -> int:
        async with self._sessions() as s:
            q = select(func.count()).select_from(CampaignAccountRow).where(
                CampaignAccountRow.campaign_id == campaign_id)
            return int((await s.execute(q)).scalar_one())
