"""Account rows as domain accounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from recobro.domain.accounts import Account, Phone, PhoneType
from recobro.domain.errors import NotFound
from recobro.domain.ids import AccountId, PhoneId
from recobro.storage.models import AccountRow

_PHONE_TYPES = frozenset(t.value for t in PhoneType)


def account_from_row(row: AccountRow) -> Account:
    """The domain account of a stored row (with its phones, which the row must have loaded)."""
    phones = tuple(
        Phone(
            e164=p.e164,
            type=PhoneType(p.type) if p.type in _PHONE_TYPES else PhoneType.UNKNOWN,
            position=p.position,
            consent=p.consent,
            do_not_call=p.do_not_call,
            time_zones=tuple(str(z) for z in (p.time_zones or ())),
            id=PhoneId(p.id),
        )
        for p in row.phones
    )
    extra: dict[str, Any] = row.extra or {}
    return Account(
        external_ref=row.external_ref,
        debtor_name=row.debtor_name,
        balance=Decimal(row.balance),
        currency=row.currency,
        due_date=row.due_date,
        days_past_due=row.days_past_due,
        phones=phones,
        national_id=row.national_id,
        segment=row.segment,
        risk_score=row.risk_score,
        language=row.language,
        state=row.state,
        region=row.region,
        do_not_call=row.do_not_call,
        extra={str(k): str(v) for k, v in extra.items()},
        id=AccountId(row.id),
    )


class AccountRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def account(self, account_id: int) -> Account:
        q = select(AccountRow).where(AccountRow.id == account_id).options(selectinload(AccountRow.phones))
        async with self._sessions() as s:
            row = (await s.execute(q)).scalar_one_or_none()
            if row is None:
                raise NotFound(f"no existe la cuenta / no such account: {account_id}", code="account_not_found")
            return account_from_row(row)
