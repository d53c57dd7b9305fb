"""The demo's people and campaign: a supervisor, simulated agents sim01.., the campaign "demo".

Idempotent: what exists is left alone (a password is never reset, a campaign a supervisor has
changed keeps the changes); what is missing is created. Passwords are stored as argon2 hashes.
The demo campaign dials predictively, with a calling window as wide as the day: the law's own
hours (per jurisdiction) still bound it, and ``recobro serve`` keeps its simulated clock inside
them.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.campaign_settings import abandon_text
from recobro.domain.campaigns import Campaign
from recobro.storage.models import AgentRow, AgentSkillRow, CampaignAgentRow, CampaignChangeRow, CampaignRow

DEMO_CAMPAIGN = "demo"
SUPERVISOR = "supervisor"


def sim_username(i: int) -> str:
    """sim01, sim02, ... (1-based)."""
    return f"sim{i:02d}"


def demo_abandon_message(company: str, callback_number: str) -> str:
    return abandon_text(Campaign(name=DEMO_CAMPAIGN, company_name=company, callback_number=callback_number))


@dataclass
class SeedReport:
    campaign_id: int = 0
    campaign_created: bool = False
    supervisor_created: bool = False
    password: str | None = None  # set only when someone was created with it
    agents_created: list[str] = field(default_factory=list)


async def ensure_campaign(
    s: AsyncSession, name: str, *, company: str, callback_number: str, now: datetime
) -> tuple[CampaignRow, bool]:
    row = (await s.execute(select(CampaignRow).where(CampaignRow.name == name))).scalar_one_or_none()
    created = row is None
    if row is None:
        row = CampaignRow(
            name=name, mode="predictive", paused=False, window_start="00:00", window_end="23:59",
            required_skills=["es"], company_name=company[:100], callback_number=callback_number,
            abandon_message=demo_abandon_message(company, callback_number), created_at=now,
        )
        s.add(row)
        await s.flush()
        return row, True
    # Made by an import before the seed: give it the demo's settings, unless a supervisor changed it.
    changes = select(func.count()).select_from(CampaignChangeRow).where(CampaignChangeRow.campaign_id == row.id)
    touched = (await s.execute(changes)).scalar_one()
    if not touched:
        row.paused = False
        row.window_start, row.window_end = "00:00", "23:59"
    if not row.abandon_message:
        row.abandon_message = demo_abandon_message(row.company_name, row.callback_number)
    return row, created


async def ensure_agents(
    s: AsyncSession, usernames: Sequence[str], campaign_id: int, password_hash: str, *, role: str = "agent"
) -> list[str]:
    """Create the missing agents (skills "es", and "en" for every second one) on the campaign."""
    have = set((await s.execute(select(AgentRow.username).where(AgentRow.username.in_(list(usernames))))).scalars())
    created: list[str] = []
    for i, username in enumerate(usernames, start=1):
        if username in have:
            continue
        row = AgentRow(
            username=username,
            display_name=f"Agente simulado {i:02d}" if role == "agent" else "Supervisor",
            role=role,
            password_hash=password_hash,
            languages=["es", "en"] if i % 2 == 0 else ["es"],
        )
        if role == "agent":
            row.skills.append(AgentSkillRow(skill="es", level=5))
            if i % 2 == 0:
                row.skills.append(AgentSkillRow(skill="en", level=5))
        s.add(row)
        created.append(username)
    await s.flush()
    ids = (await s.execute(select(AgentRow.id).where(AgentRow.username.in_(list(usernames))))).scalars().all()
    on_campaign = select(CampaignAgentRow.agent_id).where(CampaignAgentRow.campaign_id == campaign_id)
    linked = set((await s.execute(on_campaign)).scalars())
    for agent_id in ids:
        if agent_id not in linked:
            s.add(CampaignAgentRow(campaign_id=campaign_id, agent_id=agent_id))
    return created


async def seed_demo(
    sessions: async_sessionmaker[AsyncSession],
    *,
    sim_agents: int,
    company: str,
    callback_number: str,
    now: datetime,
    password: str | None = None,
    campaign: str = DEMO_CAMPAIGN,
) -> SeedReport:
    """Create what is missing of the demo in one transaction; see the module docstring."""
    report = SeedReport()
    secret = password or secrets.token_urlsafe(9)
    hashed = PasswordHasher().hash(secret)
    async with sessions() as s, s.begin():
        row, report.campaign_created = await ensure_campaign(
            s, campaign, company=company, callback_number=callback_number, now=now
        )
        report.campaign_id = row.id
        sup = (await s.execute(select(AgentRow).where(AgentRow.username == SUPERVISOR))).scalar_one_or_none()
        if sup is None:
            s.add(AgentRow(username=SUPERVISOR, display_name="Supervisor", role="supervisor", password_hash=hashed,
                           languages=["es", "en"]))
            report.supervisor_created = True
        report.agents_created = await ensure_agents(
            s, [sim_username(i) for i in range(1, sim_agents + 1)], row.id, hashed
        )
    if report.supervisor_created or report.agents_created:
        report.password = secret
    return report


async def ensure_sim_agents(sessions: async_sessionmaker[AsyncSession], n: int, campaign_id: int) -> list[str]:
    """``serve --sim-agents N`` with more agents than were seeded: the rest, with an unknown password."""
    hashed = PasswordHasher().hash(secrets.token_urlsafe(16))
    async with sessions() as s, s.begin():
        return await ensure_agents(s, [sim_username(i) for i in range(1, n + 1)], campaign_id, hashed)
