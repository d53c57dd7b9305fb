"""Agents and skills, and the upload of an accounts list (the importer the CLI runs)."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from agent_desktop_api.admin import Admin, AgentIn
from agent_desktop_api.deps import Services, Supervisor, authenticator, need, sessions, wall
from recobro.domain.errors import ValidationError
from recobro.importing.errors import FileRefused
from recobro.importing.pipeline import check_campaign_name, default_rules, prepare, store

router = APIRouter(tags=["admin"])
MAX_UPLOAD = 50 * 1024 * 1024
MAX_REJECTED_SHOWN = 1000


class SkillsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    skills: dict[str, int] = Field(max_length=100)


def _admin(svc: Services) -> Admin:
    return Admin(sessions(svc), authenticator(svc).hash)


@router.get("/api/agents")
async def agents(who: Supervisor, svc: Services) -> dict[str, Any]:
    """Every agent with skills and campaigns, and the live state of those the ACD knows."""
    listed = await _admin(svc).agents() if svc.sessions is not None else []
    live = {a["agent_id"]: a for a in (svc.agents.agents_view() if svc.agents is not None else [])}
    for item in listed:
        now = live.pop(item["id"], None)
        item["state"] = now["state"] if now else "logged_out"
        item["reason"] = now.get("reason", "") if now else ""
        item["seconds_in_state"] = now["seconds_in_state"] if now else None
    listed.extend(live.values())  # known to the ACD only (a stand-in service in tests)
    return {"agents": listed}


@router.post("/api/agents", status_code=201)
async def create_agent(body: AgentIn, who: Supervisor, svc: Services) -> dict[str, Any]:
    return await _admin(svc).create_agent(body)


@router.put("/api/agents/{agent_id}/skills")
async def set_skills(agent_id: int, body: SkillsIn, who: Supervisor, svc: Services) -> dict[str, Any]:
    return await _admin(svc).set_skills(agent_id, body.skills)


@router.post("/api/imports/accounts")
async def import_accounts(
    who: Supervisor,
    svc: Services,
    file: Annotated[UploadFile, File()],
    campaign: Annotated[str, Form()],
    region: Annotated[str, Form()] = "",
) -> dict[str, Any]:
    """The same validation and loading as ``recobro import accounts``; rejected rows come back."""
    db = need(svc.db, "database")
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise ValidationError(f"archivo mayor a {MAX_UPLOAD // 2**20} MiB / file larger than {MAX_UPLOAD // 2**20} MiB",
                              field="file")
    now = wall(svc)
    try:
        name = check_campaign_name(campaign)
        rules = default_rules(region or svc.region, now.date())
        with tempfile.TemporaryDirectory(prefix="recobro-upload-") as tmp:
            source = Path(tmp) / "upload.csv"
            source.write_bytes(data)
            report_dir = svc.reports_dir or Path(tmp)
            report_dir.mkdir(parents=True, exist_ok=True)
            prepared = await asyncio.to_thread(prepare, source, rules,
                                               report=report_dir / f"import-{now:%Y%m%dT%H%M%S}.rejected.csv")
            summary = await store(prepared, db, campaign=name, now=now)
    except FileRefused as exc:
        raise ValidationError(exc.message, field=exc.code) from None
    out = summary.as_dict()
    if svc.reports_dir is None:
        out.pop("report", None)  # it went with the temporary directory
    out["rejected_rows"] = [{"line": e.line, "column": e.column, "value": e.value, "reason": e.reason}
                            for e in prepared.errors[:MAX_REJECTED_SHOWN]]
    return out
