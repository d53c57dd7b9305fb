"""Collections KPIs per campaign and per agent over a period, computed in SQL.

Definitions (written down because every floor defines them a little differently):

- contact rate: calls that reached an agent / calls dialed;
- right-party contact (RPC) rate: dispositions that are a conversation with the debtor about
  the debt (``DispositionCode.is_right_party_contact``) / calls that reached an agent;
- promise rate: promises to pay / right-party contacts;
- promises kept: promises marked kept / promises whose outcome is known (kept + broken);
- amount promised: the sum of the promises made in the period; amount collected: payments in
  the period on the accounts those promises are about;
- abandonment: people who answered and reached nobody / people who answered (reached + abandoned).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from recobro.domain.calls import Outcome
from recobro.domain.dispositions import DispositionCode, PromiseStatus
from recobro.storage.models import AgentRow, CallRow, DispositionRow, PaymentRow, PromiseRow

Sessions = async_sessionmaker[AsyncSession]
_RPC = [c.value for c in DispositionCode if c.is_right_party_contact]


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


async def _scalar(s: AsyncSession, q: Select[Any]) -> Any:
    return (await s.execute(q)).scalar_one()


class Kpis:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def campaign(self, campaign_id: int, since: datetime, until: datetime) -> dict[str, Any]:
        call_in = and_(CallRow.campaign_id == campaign_id, CallRow.dialed_at >= since, CallRow.dialed_at < until)
        disp_in = and_(CallRow.campaign_id == campaign_id, DispositionRow.created_at >= since,
                       DispositionRow.created_at < until)
        return await self._figures(call_in, disp_in, since, until, {"campaign_id": campaign_id})

    async def agent(self, agent_id: int, since: datetime, until: datetime) -> dict[str, Any]:
        call_in = and_(CallRow.agent_id == agent_id, CallRow.dialed_at >= since, CallRow.dialed_at < until)
        disp_in = and_(DispositionRow.agent_id == agent_id, DispositionRow.created_at >= since,
                       DispositionRow.created_at < until)
        return await self._figures(call_in, disp_in, since, until, {"agent_id": agent_id}, dials_of_agent=True)

    async def agents(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        async with self._sessions() as s:
            rows = (await s.execute(select(AgentRow.id, AgentRow.username).where(AgentRow.role == "agent")
                                    .order_by(AgentRow.username))).all()
        out = []
        for agent_id, username in rows:
            figures = await self.agent(int(agent_id), since, until)
            figures["username"] = username
            out.append(figures)
        return out

    async def _figures(self, call_in: Any, disp_in: Any, since: datetime, until: datetime, key: dict[str, Any],
                       *, dials_of_agent: bool = False) -> dict[str, Any]:
        count = func.count()
        async with self._sessions() as s:
            dials = int(await _scalar(s, select(count).select_from(CallRow).where(call_in)))
            reached = int(await _scalar(s, select(count).select_from(CallRow).where(
                call_in, CallRow.outcome == Outcome.CONNECTED.value)))
            abandoned = 0 if dials_of_agent else int(await _scalar(s, select(count).select_from(CallRow).where(
                call_in, CallRow.outcome == Outcome.ABANDONED.value)))
            disp = select(DispositionRow.id).outerjoin(CallRow, CallRow.id == DispositionRow.call_id).where(disp_in)
            rpc = int(await _scalar(s, select(count).select_from(disp.where(DispositionRow.code.in_(_RPC)).subquery())))
            promise_q = (select(PromiseRow.id, PromiseRow.amount, PromiseRow.status, PromiseRow.account_id)
                         .join(DispositionRow, DispositionRow.id == PromiseRow.disposition_id)
                         .outerjoin(CallRow, CallRow.id == DispositionRow.call_id).where(disp_in))
            promises = (await s.execute(promise_q)).all()
            accounts = sorted({int(p.account_id) for p in promises})
            collected = Decimal(0)
            if accounts:
                collected = Decimal(await _scalar(s, select(func.coalesce(func.sum(PaymentRow.amount), 0)).where(
                    PaymentRow.account_id.in_(accounts), PaymentRow.paid_at >= since, PaymentRow.paid_at < until)))
        kept = sum(1 for p in promises if p.status == PromiseStatus.KEPT.value)
        broken = sum(1 for p in promises if p.status == PromiseStatus.BROKEN.value)
        promised = sum((Decimal(p.amount) for p in promises), Decimal(0))
        return {
            **key,
            "since": since.isoformat(), "until": until.isoformat(),
            "dials": dials, "contacts": reached, "contact_rate": None if dials_of_agent else _rate(reached, dials),
            "right_party_contacts": rpc, "right_party_contact_rate": _rate(rpc, reached),
            "promises": len(promises), "promise_rate": _rate(len(promises), rpc),
            "promises_kept": kept, "promises_broken": broken, "promises_kept_rate": _rate(kept, kept + broken),
            "amount_promised": f"{promised:.2f}", "amount_collected": f"{Decimal(collected):.2f}",
            "abandoned": abandoned, "abandon_rate": None if dials_of_agent else _rate(abandoned, reached + abandoned),
        }
