"""Campaign rows as domain campaigns, and the live changes a supervisor makes to them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from recobro.domain.campaigns import (
    DEFAULT_RETRY_SECONDS,
    CallingWindow,
    Campaign,
    CampaignMode,
    HopperOrder,
    RetryOutcome,
    RetryRules,
)
from recobro.domain.errors import NotFound, ValidationError
from recobro.domain.ids import CampaignId
from recobro.storage.models import CampaignAccountRow, CampaignChangeRow, CampaignRow

#: Campaign fields that may be changed live, and how each is stored in its column.
_LIVE_COLUMNS: Mapping[str, type] = {
    "mode": str,
    "target_abandon_rate": float,
    "max_dial_ratio": float,
    "paused": bool,
}


def _hhmm(value: str, field: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError(f"hora inválida / invalid time {value!r}", field=field, value=value) from exc


def _retry(data: Mapping[str, Any]) -> RetryRules:
    delays_raw = data.get("delay_seconds", data)
    delays = dict(DEFAULT_RETRY_SECONDS)
    if isinstance(delays_raw, Mapping):
        for outcome in RetryOutcome:
            value = delays_raw.get(outcome.value)
            if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
                delays[outcome] = int(value)
    return RetryRules(
        delay_seconds=delays,
        max_attempts_per_number=int(data.get("max_attempts_per_number", 10)),
        max_attempts_per_number_per_day=int(data.get("max_attempts_per_number_per_day", 3)),
    )


def campaign_from_row(row: CampaignRow) -> Campaign:
    """The domain campaign of a row; ValidationError when a stored value makes no sense."""
    try:
        mode = CampaignMode(row.mode)
        order = HopperOrder(row.hopper_order)
    except ValueError as exc:
        raise ValidationError(f"campaña {row.name}: {exc}", field="mode") from exc
    return Campaign(
        name=row.name,
        mode=mode,
        target_abandon_rate=row.target_abandon_rate,
        max_dial_ratio=row.max_dial_ratio,
        window=CallingWindow(_hhmm(row.window_start, "window_start"), _hhmm(row.window_end, "window_end")),
        retry=_retry(row.retry or {}),
        required_skills=tuple(str(s) for s in (row.required_skills or ())),
        hopper_order=order,
        wrap_up_limit_seconds=row.wrap_up_limit_seconds,
        promise_horizon_days=row.promise_horizon_days,
        connect_within_seconds=row.connect_within_seconds,
        no_answer_timeout_seconds=row.no_answer_timeout_seconds,
        amd_enabled=row.amd_enabled,
        company_name=row.company_name,
        callback_number=row.callback_number,
        paused=row.paused,
        id=CampaignId(row.id),
    )


class CampaignRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def by_name(self, name: str) -> CampaignRow:
        async with self._sessions() as s:
            row = (await s.execute(select(CampaignRow).where(CampaignRow.name == name))).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no existe la campaña / no such campaign: {name!r}", code="campaign_not_found")
        return row

    async def names(self) -> list[str]:
        async with self._sessions() as s:
            return list((await s.execute(select(CampaignRow.name).order_by(CampaignRow.name))).scalars())

    async def summaries(self) -> list[dict[str, Any]]:
        """Every campaign's settings and list size, for the campaigns list."""
        sizes = (
            select(CampaignAccountRow.campaign_id, func.count().label("n"))
            .group_by(CampaignAccountRow.campaign_id)
            .subquery()
        )
        q = (
            select(CampaignRow, func.coalesce(sizes.c.n, 0))
            .outerjoin(sizes, sizes.c.campaign_id == CampaignRow.id)
            .order_by(CampaignRow.name)
        )
        async with self._sessions() as s:
            rows = (await s.execute(q)).all()
        return [
            {
                "id": row.id,
                "name": row.name,
                "mode": row.mode,
                "paused": row.paused,
                "target_abandon_rate": row.target_abandon_rate,
                "max_dial_ratio": row.max_dial_ratio,
                "window_start": row.window_start,
                "window_end": row.window_end,
                "required_skills": list(row.required_skills or []),
                "wrap_up_limit_seconds": row.wrap_up_limit_seconds,
                "promise_horizon_days": row.promise_horizon_days,
                "retry": row.retry or {},
                "script": row.script,
                "accounts": int(size),
            }
            for row, size in rows
        ]

    async def apply_change(
        self, campaign_id: int, field: str, old: str, new: str, changed_by: str, at: datetime
    ) -> None:
        """Store the new value and the change (who, when, from, to) in one transaction."""
        kind = _LIVE_COLUMNS.get(field)
        if kind is None:
            raise ValidationError(f"no se puede cambiar en vivo / not a live field: {field}", field=field)
        value: object = (new == "true") if kind is bool else kind(new)
        async with self._sessions() as s, s.begin():
            result = await s.execute(update(CampaignRow).where(CampaignRow.id == campaign_id).values({field: value}))
            if not getattr(result, "rowcount", 1):
                raise NotFound(f"no existe la campaña / no such campaign: {campaign_id}", code="campaign_not_found")
            s.add(
                CampaignChangeRow(
                    campaign_id=campaign_id, field=field, old_value=old[:200], new_value=new[:200],
                    changed_by=changed_by[:100], changed_at=at,
                )
            )
