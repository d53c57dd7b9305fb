"""Campaigns: the list with live figures, create and edit, lists and agents assigned, penetration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import distinct, func, select

from agent_desktop_api.admin import Admin, CampaignIn
from agent_desktop_api.deps import Anyone, Services, Supervisor, authenticator, sessions, wall
from recobro.domain.calls import Outcome
from recobro.domain.errors import NotFound
from recobro.storage.models import CallRow, CampaignAccountRow, CampaignRow

router = APIRouter(tags=["campaigns"])


class AssignAccountsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_ids: list[int] = Field(default_factory=list, max_length=100_000)
    external_refs: list[str] = Field(default_factory=list, max_length=100_000)
    replace: bool = False


class AssignAgentsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_ids: list[int] = Field(max_length=10_000)


def _admin(svc: Services) -> Admin:
    return Admin(sessions(svc), authenticator(svc).hash)


@router.get("/api/campaigns")
async def list_campaigns(who: Anyone, svc: Services) -> dict[str, Any]:
    return {"campaigns": await svc.campaigns.list_campaigns()}


@router.post("/api/campaigns", status_code=201)
async def create_campaign(body: CampaignIn, who: Supervisor, svc: Services) -> dict[str, Any]:
    return await _admin(svc).create_campaign(body, wall(svc))


@router.get("/api/campaigns/penetration")
async def penetration(who: Supervisor, svc: Services) -> dict[str, Any]:
    """Per campaign: accounts on the list, dialed, reached, not yet dialed, and why numbers are held back now."""
    async with sessions(svc)() as s:
        names = dict((await s.execute(select(CampaignRow.id, CampaignRow.name))).all())
        sizes = dict((await s.execute(select(CampaignAccountRow.campaign_id, func.count())
                                      .group_by(CampaignAccountRow.campaign_id))).all())
        dialed = dict((await s.execute(select(CallRow.campaign_id, func.count(distinct(CallRow.account_id)))
                                       .group_by(CallRow.campaign_id))).all())
        reached = dict((await s.execute(select(CallRow.campaign_id, func.count(distinct(CallRow.account_id)))
                                        .where(CallRow.outcome == Outcome.CONNECTED.value)
                                        .group_by(CallRow.campaign_id))).all())
    out = []
    for cid, name in sorted(names.items(), key=lambda kv: str(kv[1])):
        engine = svc.engines.get(int(cid))
        size, done = int(sizes.get(cid, 0)), int(dialed.get(cid, 0))
        held = dict(engine.held_back) if engine is not None else {}
        out.append({"id": cid, "name": name, "accounts": size, "dialed": done, "contacted": int(reached.get(cid, 0)),
                    "remaining": max(0, size - done), "remaining_by_reason": _by_reason(held), "held_back": held})
    return {"campaigns": out}


def _by_reason(held: dict[str, int]) -> dict[str, int]:
    """The hopper's refusals of the last batch (by rule id) grouped as the console shows them."""
    out = {"outside_window": 0, "frequency_cap": 0, "do_not_call": 0, "other": 0}
    for rule, n in held.items():
        if rule.startswith("window."):
            out["outside_window"] += n
        elif rule.startswith(("frequency.", "retry.", "abandon.", "colombia.")):
            out["frequency_cap"] += n
        elif rule.startswith("dnc."):
            out["do_not_call"] += n
        else:
            out["other"] += n
    return out


@router.get("/api/campaigns/{campaign_id}")
async def get_campaign(campaign_id: int, who: Supervisor, svc: Services) -> dict[str, Any]:
    for item in await svc.campaigns.list_campaigns():
        if item.get("id") == campaign_id:
            return item
    raise NotFound(f"no existe la campaña / no such campaign: {campaign_id}", code="campaign_not_found")


@router.patch("/api/campaigns/{campaign_id}")
async def edit_campaign(campaign_id: int, body: CampaignIn, who: Supervisor, svc: Services) -> dict[str, Any]:
    """The stored settings; a new wrap-up limit applies to the running ACD at once.

    Pacing fields of a campaign being dialed change live through the supervisor's socket
    (the engine's ``update``), which also records who changed what.
    """
    edited = await _admin(svc).edit_campaign(campaign_id, body)
    if body.wrap_up_limit_seconds is not None and svc.acd is not None:
        svc.acd.set_wrap_up_limit(campaign_id, body.wrap_up_limit_seconds)
    return edited


@router.post("/api/campaigns/{campaign_id}/accounts")
async def assign_accounts(campaign_id: int, body: AssignAccountsIn, who: Supervisor, svc: Services) -> dict[str, Any]:
    return await _admin(svc).assign_accounts(campaign_id, account_ids=body.account_ids,
                                             external_refs=body.external_refs, replace=body.replace)


@router.put("/api/campaigns/{campaign_id}/agents")
async def assign_agents(campaign_id: int, body: AssignAgentsIn, who: Supervisor, svc: Services) -> dict[str, Any]:
    return await _admin(svc).assign_agents(campaign_id, body.agent_ids)


@router.get("/api/campaigns/{campaign_id}/metrics")
async def campaign_metrics(campaign_id: int, who: Supervisor, svc: Services) -> dict[str, Any]:
    return svc.campaigns.live_metrics(campaign_id)
