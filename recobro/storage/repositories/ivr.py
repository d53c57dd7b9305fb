"""The IVR's reads and writes: accounts by phone or reference, events, promises, callbacks.

Each write is one short transaction. A promise is written with its disposition and the call's
pending IVR events together, so a failure leaves none of them. Calls the IVR handles may have
no ``calls`` row (inbound calls, a PBX test call): the foreign key is then left empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from recobro.storage.models import (
    AccountRow,
    CallbackRow,
    CallRow,
    CampaignAccountRow,
    CampaignRow,
    DispositionRow,
    IvrEventRow,
    PhoneRow,
    PromiseRow,
)

EventRow = tuple[datetime, str, str]  # (at, kind, value)


class IvrRepository:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    # -- reads -------------------------------------------------------------------------------
    async def account(self, account_id: int) -> AccountRow | None:
        async with self._sessions() as s:
            return await s.get(AccountRow, account_id)

    async def account_by_reference(self, reference: str) -> AccountRow | None:
        async with self._sessions() as s:
            q = select(AccountRow).where(AccountRow.external_ref == reference)
            return (await s.execute(q)).scalar_one_or_none()

    async def accounts_by_phone(self, e164: str) -> list[AccountRow]:
        q = select(AccountRow).join(PhoneRow, PhoneRow.account_id == AccountRow.id).where(PhoneRow.e164 == e164)
        async with self._sessions() as s:
            return list((await s.execute(q.distinct())).scalars())

    async def campaign(self, campaign_id: int) -> CampaignRow | None:
        async with self._sessions() as s:
            return await s.get(CampaignRow, campaign_id)

    async def campaign_of(self, account_id: int) -> CampaignRow | None:
        """The lowest-numbered campaign the account is assigned to (inbound calls' terms)."""
        q = (
            select(CampaignRow)
            .join(CampaignAccountRow, CampaignAccountRow.campaign_id == CampaignRow.id)
            .where(CampaignAccountRow.account_id == account_id)
            .order_by(CampaignRow.id)
            .limit(1)
        )
        async with self._sessions() as s:
            return (await s.execute(q)).scalar_one_or_none()

    # -- writes ------------------------------------------------------------------------------
    @staticmethod
    async def _call_fk(s: AsyncSession, call_id: str) -> str | None:
        return (await s.execute(select(CallRow.id).where(CallRow.id == call_id))).scalar_one_or_none()

    @staticmethod
    async def _events(s: AsyncSession, call_id: str, account_id: int | None, events: Sequence[EventRow]) -> None:
        if events:
            rows = [
                {"call_id": call_id, "account_id": account_id, "at": at, "kind": kind[:20], "value": value[:200]}
                for at, kind, value in events
            ]
            await s.execute(insert(IvrEventRow), rows)

    async def add_events(self, call_id: str, account_id: int | None, events: Sequence[EventRow]) -> None:
        if not events:
            return
        async with self._sessions() as s, s.begin():
            await self._events(s, call_id, account_id, events)

    async def save_promise(
        self,
        *,
        call_id: str,
        account_id: int,
        amount: Decimal,
        currency: str,
        promised_for: date,
        at: datetime,
        events: Sequence[EventRow],
    ) -> int:
        async with self._sessions() as s, s.begin():
            call_fk = await self._call_fk(s, call_id)
            disposition_id = (
                await s.execute(
                    insert(DispositionRow)
                    .values(
                        call_id=call_fk,
                        account_id=account_id,
                        code="promise_to_pay",
                        notes="IVR",
                        created_at=at,
                    )
                    .returning(DispositionRow.id)
                )
            ).scalar_one()
            promise_id = (
                await s.execute(
                    insert(PromiseRow)
                    .values(
                        account_id=account_id,
                        call_id=call_fk,
                        disposition_id=disposition_id,
                        amount=amount,
                        currency=currency,
                        promised_for=promised_for,
                        status="pending",
                        source="ivr",
                        created_at=at,
                    )
                    .returning(PromiseRow.id)
                )
            ).scalar_one()
            await self._events(s, call_id, account_id, events)
        return int(promise_id)

    async def save_outcome(
        self,
        *,
        call_id: str,
        account_id: int | None,
        disposition: str | None,
        at: datetime,
        events: Sequence[EventRow],
    ) -> None:
        """The call's last events, and a disposition (e.g. ``wrong_party``) when there is one."""
        async with self._sessions() as s, s.begin():
            if disposition is not None and account_id is not None:
                await s.execute(
                    insert(DispositionRow).values(
                        call_id=await self._call_fk(s, call_id),
                        account_id=account_id,
                        code=disposition,
                        notes="IVR",
                        created_at=at,
                    )
                )
            await self._events(s, call_id, account_id, events)

    async def add_callback(self, *, account_id: int, campaign_id: int | None, number: str | None, due: datetime) -> int:
        async with self._sessions() as s, s.begin():
            result = await s.execute(
                insert(CallbackRow)
                .values(account_id=account_id, campaign_id=campaign_id, number=number or None, due_at=due, done=False)
                .returning(CallbackRow.id)
            )
            return int(result.scalar_one())
