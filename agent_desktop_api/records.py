"""Reading accounts and what happened to them: history, the screen pop's data, dispositions,
promises and callbacks with filters. Plain SQL reads over the storage schema, shaped as JSON.

Kept apart from the routes so that the websocket hub (screen pop) and the REST routes share
one definition of "an account's history".
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from recobro.domain.errors import NotFound, ValidationError
from recobro.storage.models import (
    AccountRow,
    AgentRow,
    CallbackRow,
    CallRow,
    CampaignAccountRow,
    CampaignRow,
    DispositionRow,
    PaymentRow,
    PromiseRow,
)

Sessions = async_sessionmaker[AsyncSession]
MAX_PAGE = 500


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def account_json(row: AccountRow, *, phones: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "external_ref": row.external_ref,
        "debtor_name": row.debtor_name,
        "balance": _money(row.balance),
        "currency": row.currency,
        "due_date": _iso(row.due_date),
        "days_past_due": row.days_past_due,
        "segment": row.segment,
        "language": row.language,
        "state": row.state,
        "region": row.region,
        "do_not_call": row.do_not_call,
    }
    if phones:
        out["phones"] = [
            {"e164": p.e164, "type": p.type, "position": p.position, "do_not_call": p.do_not_call,
             "time_zones": list(p.time_zones or [])}
            for p in row.phones
        ]
        zones = [z for p in row.phones for z in (p.time_zones or [])]
        out["time_zone"] = zones[0] if zones else None
    return out


def disposition_json(row: DispositionRow) -> dict[str, Any]:
    return {
        "id": row.id, "account_id": row.account_id, "call_id": row.call_id, "agent_id": row.agent_id,
        "code": row.code, "notes": row.notes, "callback_at": _iso(row.callback_at), "created_at": _iso(row.created_at),
    }


def promise_json(row: PromiseRow) -> dict[str, Any]:
    return {
        "id": row.id, "account_id": row.account_id, "call_id": row.call_id, "disposition_id": row.disposition_id,
        "amount": _money(row.amount), "currency": row.currency, "promised_for": _iso(row.promised_for),
        "status": row.status, "source": row.source, "created_at": _iso(row.created_at),
    }


def payment_json(row: PaymentRow) -> dict[str, Any]:
    return {"id": row.id, "amount": _money(row.amount), "paid_at": _iso(row.paid_at), "reference": row.reference}


def call_json(row: CallRow) -> dict[str, Any]:
    return {
        "id": row.id, "campaign_id": row.campaign_id, "number": row.number, "direction": row.direction,
        "state": row.state, "outcome": row.outcome, "agent_id": row.agent_id, "dialed_at": _iso(row.dialed_at),
        "answered_at": _iso(row.answered_at), "connected_at": _iso(row.connected_at), "ended_at": _iso(row.ended_at),
        "hangup_cause": row.hangup_cause,
    }


def _page(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit debe estar entre 1 y {MAX_PAGE} / limit must be 1-{MAX_PAGE}", field="limit")
    return limit


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill_script(script: str, values: Mapping[str, str]) -> str:
    """The campaign's script with ``{debtor_name}``-style fields filled; unknown fields stay as written."""
    try:
        return string.Formatter().vformat(script, (), _Blank(values))
    except (ValueError, IndexError):
        return script  # a stray brace: show the script as written rather than nothing


class Records:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def accounts(self, *, q: str = "", campaign_id: int | None = None, limit: int = 50,
                       offset: int = 0) -> list[dict[str, Any]]:
        stmt = select(AccountRow).order_by(AccountRow.id)
        if q:
            like = f"%{q}%"
            stmt = stmt.where(or_(AccountRow.debtor_name.ilike(like), AccountRow.external_ref.ilike(like)))
        if campaign_id is not None:
            stmt = stmt.join(CampaignAccountRow, CampaignAccountRow.account_id == AccountRow.id).where(
                CampaignAccountRow.campaign_id == campaign_id)
        stmt = stmt.limit(_page(limit)).offset(max(0, offset))
        async with self._sessions() as s:
            return [account_json(r, phones=False) for r in (await s.execute(stmt)).scalars()]

    async def account(self, account_id: int, *, last: int = 5) -> dict[str, Any]:
        """The account with its phones, last payments, dispositions, promises and calls."""
        async with self._sessions() as s:
            row = (await s.execute(select(AccountRow).where(AccountRow.id == account_id)
                                   .options(selectinload(AccountRow.phones)))).scalar_one_or_none()
            if row is None:
                raise NotFound(f"no existe la cuenta / no such account: {account_id}", code="account_not_found")
            out = account_json(row)
            out["last_payments"] = [payment_json(r) for r in (await s.execute(
                select(PaymentRow).where(PaymentRow.account_id == account_id)
                .order_by(PaymentRow.paid_at.desc()).limit(last))).scalars()]
            out["last_dispositions"] = [disposition_json(r) for r in (await s.execute(
                select(DispositionRow).where(DispositionRow.account_id == account_id)
                .order_by(DispositionRow.created_at.desc(), DispositionRow.id.desc()).limit(last))).scalars()]
            who = {d["agent_id"] for d in out["last_dispositions"] if d["agent_id"] is not None}
            names = dict((await s.execute(select(AgentRow.id, AgentRow.display_name)
                                          .where(AgentRow.id.in_(who)))).all()) if who else {}
            for d in out["last_dispositions"]:  # the desktop names who spoke with the debtor
                d["agent_name"] = names.get(d["agent_id"], "")
            out["promises"] = [promise_json(r) for r in (await s.execute(
                select(PromiseRow).where(PromiseRow.account_id == account_id)
                .order_by(PromiseRow.created_at.desc(), PromiseRow.id.desc()).limit(last))).scalars()]
            out["calls"] = [call_json(r) for r in (await s.execute(
                select(CallRow).where(CallRow.account_id == account_id)
                .order_by(func.coalesce(CallRow.dialed_at, CallRow.queued_at).desc()).limit(last * 4))).scalars()]
        return out

    async def campaign(self, campaign_id: int) -> dict[str, Any]:
        async with self._sessions() as s:
            row = await s.get(CampaignRow, campaign_id)
            if row is None:
                raise NotFound(f"no existe la campaña / no such campaign: {campaign_id}", code="campaign_not_found")
            return {"id": row.id, "name": row.name, "mode": row.mode, "company_name": row.company_name,
                    "callback_number": row.callback_number, "script": row.script,
                    "promise_horizon_days": row.promise_horizon_days,
                    "wrap_up_limit_seconds": row.wrap_up_limit_seconds}

    async def screen_pop(self, *, account_id: int, campaign_id: int, call_id: str | None, number: str,
                         agent_name: str) -> dict[str, Any]:
        """What the agent sees when a call connects: debtor, balance, history, the filled script."""
        account = await self.account(account_id)
        campaign = await self.campaign(campaign_id)
        values = {"debtor_name": account["debtor_name"], "balance": f"{account['balance']} {account['currency']}",
                  "days_past_due": str(account["days_past_due"]), "company_name": campaign["company_name"],
                  "agent_name": agent_name, "external_ref": account["external_ref"],
                  "callback_number": campaign["callback_number"]}
        return {
            "call_id": call_id, "account_id": account_id, "number": number, "account": account,
            "last_payments": account.pop("last_payments"), "last_dispositions": account.pop("last_dispositions"),
            "promises": account.pop("promises"), "script": fill_script(campaign["script"], values),
            "campaign": campaign, "promise_horizon_days": campaign["promise_horizon_days"],
            "wrap_up_limit_seconds": campaign["wrap_up_limit_seconds"], "mode": campaign["mode"],
            "company_name": campaign["company_name"],
        }

    async def dispositions(self, *, campaign_id: int | None = None, agent_id: int | None = None,
                           account_id: int | None = None, code: str | None = None, since: datetime | None = None,
                           until: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
        stmt = select(DispositionRow).order_by(DispositionRow.created_at.desc(), DispositionRow.id.desc())
        if campaign_id is not None:
            stmt = stmt.join(CallRow, CallRow.id == DispositionRow.call_id).where(CallRow.campaign_id == campaign_id)
        for column, value in ((DispositionRow.agent_id, agent_id), (DispositionRow.account_id, account_id),
                              (DispositionRow.code, code)):
            if value is not None:
                stmt = stmt.where(column == value)
        if since is not None:
            stmt = stmt.where(DispositionRow.created_at >= since)
        if until is not None:
            stmt = stmt.where(DispositionRow.created_at < until)
        async with self._sessions() as s:
            return [disposition_json(r) for r in (await s.execute(stmt.limit(_page(limit)))).scalars()]

    async def promises(self, *, campaign_id: int | None = None, agent_id: int | None = None,
                       account_id: int | None = None, status: str | None = None, due_from: date | None = None,
                       due_to: date | None = None, limit: int = 100) -> list[dict[str, Any]]:
        stmt = select(PromiseRow).order_by(PromiseRow.created_at.desc(), PromiseRow.id.desc())
        if campaign_id is not None or agent_id is not None:
            stmt = stmt.join(DispositionRow, DispositionRow.id == PromiseRow.disposition_id)
            if agent_id is not None:
                stmt = stmt.where(DispositionRow.agent_id == agent_id)
            if campaign_id is not None:
                stmt = stmt.join(CallRow, CallRow.id == PromiseRow.call_id).where(CallRow.campaign_id == campaign_id)
        if account_id is not None:
            stmt = stmt.where(PromiseRow.account_id == account_id)
        if status is not None:
            stmt = stmt.where(PromiseRow.status == status)
        if due_from is not None:
            stmt = stmt.where(PromiseRow.promised_for >= due_from)
        if due_to is not None:
            stmt = stmt.where(PromiseRow.promised_for <= due_to)
        async with self._sessions() as s:
            return [promise_json(r) for r in (await s.execute(stmt.limit(_page(limit)))).scalars()]

    async def disposition_by_key(self, key: str, agent_id: int) -> dict[str, Any] | None:
        """A disposition already stored under ``key`` by this agent (a retry after a drop)."""
        async with self._sessions() as s:
            row = (await s.execute(select(DispositionRow).where(DispositionRow.idempotency_key == key,
                                                                DispositionRow.agent_id == agent_id))
                   ).scalar_one_or_none()
            if row is None:
                return None
            out = disposition_json(row)
            promise = (await s.execute(select(PromiseRow).where(PromiseRow.disposition_id == row.id))
                       ).scalar_one_or_none()
            out["promise"] = None if promise is None else promise_json(promise)
            return out

    async def callbacks(self, agent_id: int, *, until: datetime | None = None,
                        exclude: Sequence[int] = ()) -> list[dict[str, Any]]:
        """The agent's open callbacks (due before ``until`` when given), oldest first."""
        stmt = (select(CallbackRow, AccountRow.debtor_name).join(AccountRow, AccountRow.id == CallbackRow.account_id)
                .where(CallbackRow.agent_id == agent_id, CallbackRow.done.is_(False))
                .order_by(CallbackRow.due_at).limit(MAX_PAGE))
        if until is not None:
            stmt = stmt.where(CallbackRow.due_at <= until)
        if exclude:
            stmt = stmt.where(CallbackRow.id.not_in(list(exclude)))
        async with self._sessions() as s:
            rows = (await s.execute(stmt)).all()
        return [{"id": cb.id, "account_id": cb.account_id, "campaign_id": cb.campaign_id, "number": cb.number,
                 "due_at": _iso(cb.due_at), "debtor_name": name} for cb, name in rows]

    async def add_callback(self, *, agent_id: int, account_id: int, campaign_id: int | None, number: str | None,
                           due_at: datetime) -> dict[str, Any]:
        async with self._sessions() as s, s.begin():
            if await s.get(AccountRow, account_id) is None:
                raise NotFound(f"no existe la cuenta / no such account: {account_id}", code="account_not_found")
            row = CallbackRow(account_id=account_id, campaign_id=campaign_id, agent_id=agent_id, number=number,
                              due_at=due_at, done=False)
            s.add(row)
            await s.flush()
            return {"id": row.id, "account_id": account_id, "campaign_id": campaign_id, "number": number,
                    "due_at": _iso(due_at)}

    async def agent_name(self, agent_id: int) -> str:
        async with self._sessions() as s:
            row = await s.get(AgentRow, agent_id)
            return "" if row is None else row.display_name
