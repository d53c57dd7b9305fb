"""Agents, their state changes, and what they record of their calls (dispositions, promises, callbacks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from recobro.domain.accounts import Account
from recobro.domain.dispositions import Disposition, DispositionCode, PromiseStatus
from recobro.storage.models import (
    AgentRow,
    AgentStateChangeRow,
    CallbackRow,
    CallRow,
    CampaignAgentRow,
    DispositionRow,
    PromiseRow,
)
from recobro.storage.repositories.accounts import AccountRepository


@dataclass(frozen=True, slots=True)
class AgentRecord:
    id: int
    username: str
    display_name: str
    role: str
    extension: str | None
    skills: dict[str, int] = field(default_factory=dict)
    campaigns: frozenset[int] = frozenset()


class AgentRepository:
    """The SQL behind ``acd.ports.AgentStore``, and agent look-ups for the composition root."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._accounts = AccountRepository(sessions)

    async def agents(self, usernames: Sequence[str] | None = None, *, role: str = "agent") -> list[AgentRecord]:
        """Active agents (of ``role``) with their skills and campaigns, by username."""
        q = (
            select(AgentRow)
            .where(AgentRow.active.is_(True), AgentRow.role == role)
            .options(selectinload(AgentRow.skills))
            .order_by(AgentRow.username)
        )
        if usernames is not None:
            q = q.where(AgentRow.username.in_(list(usernames)))
        async with self._sessions() as s:
            rows = (await s.execute(q)).scalars().all()
            links = (await s.execute(select(CampaignAgentRow.agent_id, CampaignAgentRow.campaign_id))).all()
        by_agent: dict[int, set[int]] = {}
        for agent_id, campaign_id in links:
            by_agent.setdefault(agent_id, set()).add(campaign_id)
        return [
            AgentRecord(
                id=r.id,
                username=r.username,
                display_name=r.display_name,
                role=r.role,
                extension=r.extension,
                skills={k.skill: k.level for k in r.skills},
                campaigns=frozenset(by_agent.get(r.id, ())),
            )
            for r in rows
        ]

    async def record_state(self, agent_id: int, from_state: str, to_state: str, reason: str, at: datetime) -> None:
        async with self._sessions() as s, s.begin():
            s.add(
                AgentStateChangeRow(
                    agent_id=agent_id, from_state=from_state, to_state=to_state, reason=reason[:50], at=at
                )
            )

    async def account(self, account_id: int) -> Account:
        return await self._accounts.account(account_id)

    async def save_disposition(
        self,
        *,
        disposition: Disposition,
        account_id: int,
        agent_id: int,
        call_id: str | None,
        campaign_id: int | None,
        number: str | None,
        currency: str,
        idempotency_key: str | None,
        at: datetime,
    ) -> int:
        if idempotency_key is not None:
            found = await self._by_key(idempotency_key)
            if found is not None:
                return found
        try:
            async with self._sessions() as s, s.begin():
                if call_id is not None and await s.get(CallRow, call_id) is None:
                    call_id = None  # a caller the IVR handed over (inbound): no call row of ours
                row = DispositionRow(
                    idempotency_key=idempotency_key,
                    call_id=call_id,
                    account_id=account_id,
                    agent_id=agent_id,
                    code=disposition.code.value,
                    notes=disposition.notes,
                    callback_at=disposition.callback_at,
                    created_at=at,
                )
                s.add(row)
                await s.flush()
                if disposition.code == DispositionCode.PROMISE_TO_PAY:
                    assert disposition.promise_amount is not None and disposition.promise_date is not None
                    s.add(
                        PromiseRow(
                            account_id=account_id, call_id=call_id, disposition_id=row.id,
                            amount=disposition.promise_amount, currency=currency,
                            promised_for=disposition.promise_date, status=PromiseStatus.PENDING.value,
                            source="agent", created_at=at,
                        )
                    )
                if disposition.code == DispositionCode.CALLBACK:
                    assert disposition.callback_at is not None
                    s.add(
                        CallbackRow(
                            account_id=account_id, campaign_id=campaign_id, agent_id=agent_id, number=number,
                            due_at=disposition.callback_at, done=False,
                        )
                    )
                return row.id
        except IntegrityError:
            if idempotency_key is None:
                raise
            found = await self._by_key(idempotency_key)  # the same request, twice at once
            if found is None:
                raise
            return found

    async def _by_key(self, key: str) -> int | None:
        async with self._sessions() as s:
            q = select(DispositionRow.id).where(DispositionRow.idempotency_key == key)
            found = (await s.execute(q)).scalar_one_or_none()
        return None if found is None else int(found)
