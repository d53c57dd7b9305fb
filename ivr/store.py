"""``IvrStore`` over the SQL repository: rows become the flows' views, secrets are checked here."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from ivr.flows.model import CampaignView, Credential, DebtorView, Outcome
from ivr.identity import id_last4, verify_id_last4, verify_pin
from ivr.ports import CallContext, IvrEvent
from recobro.storage.models import AccountRow, CampaignRow
from recobro.storage.repositories.ivr import IvrRepository

_DISPOSITIONS = {Outcome.WRONG_PARTY.value: "wrong_party"}


def debtor_view(row: AccountRow) -> DebtorView:
    if row.pin_hash:
        credential = Credential.PIN
    elif row.national_id and id_last4(row.national_id):
        credential = Credential.NATIONAL_ID
    else:
        credential = Credential.NONE
    skills = tuple(str(s) for s in (row.extra or {}).get("skills", []) if isinstance(s, str))
    country = row.state.split("-", 1)[0] if row.state and "-" in row.state else row.region
    return DebtorView(
        account_id=row.id,
        name=row.debtor_name,
        balance=Decimal(row.balance),
        currency=row.currency,
        due_date=row.due_date,
        language=row.language or "es",
        country=country,
        skills=skills,
        credential=credential,
        external_ref=row.external_ref,
    )


def campaign_view(row: CampaignRow) -> CampaignView:
    return CampaignView(
        campaign_id=row.id,
        company=row.company_name,
        callback_number=row.callback_number,
        promise_horizon_days=row.promise_horizon_days,
        voicemail_message=row.voicemail_message,
        skills=tuple(str(s) for s in row.required_skills),
    )


class SqlIvrStore:
    def __init__(self, repo: IvrRepository) -> None:
        self._repo = repo

    async def debtor(self, account_id: int) -> DebtorView | None:
        row = await self._repo.account(account_id)
        return debtor_view(row) if row else None

    async def debtor_by_phone(self, e164: str) -> DebtorView | None:
        rows = await self._repo.accounts_by_phone(e164)
        return debtor_view(rows[0]) if len(rows) == 1 else None

    async def debtor_by_reference(self, reference: str) -> DebtorView | None:
        row = await self._repo.account_by_reference(reference)
        return debtor_view(row) if row else None

    async def campaign(self, campaign_id: int) -> CampaignView | None:
        row = await self._repo.campaign(campaign_id)
        return campaign_view(row) if row else None

    async def campaign_for_account(self, account_id: int) -> CampaignView | None:
        row = await self._repo.campaign_of(account_id)
        return campaign_view(row) if row else None

    async def verify(self, account_id: int, credential: Credential, digits: str) -> bool:
        row = await self._repo.account(account_id)
        if row is None:
            return False
        if credential is Credential.PIN and row.pin_hash:
            return verify_pin(row.pin_hash, digits)
        if credential is Credential.NATIONAL_ID and row.national_id:
            return verify_id_last4(row.national_id, digits)
        return False

    async def record(self, call: CallContext, events: list[IvrEvent]) -> None:
        await self._repo.add_events(call.call_id, call.account_id, events)

    async def save_promise(
        self,
        call: CallContext,
        *,
        amount: Decimal,
        currency: str,
        promised_for: date,
        at: datetime,
        events: list[IvrEvent],
    ) -> int:
        assert call.account_id is not None
        return await self._repo.save_promise(
            call_id=call.call_id,
            account_id=call.account_id,
            amount=amount,
            currency=currency,
            promised_for=promised_for,
            at=at,
            events=events,
        )

    async def finish(self, call: CallContext, *, outcome: str, at: datetime, events: list[IvrEvent]) -> None:
        await self._repo.save_outcome(
            call_id=call.call_id,
            account_id=call.account_id,
            disposition=_DISPOSITIONS.get(outcome),
            at=at,
            events=events,
        )

    async def save_callback(self, call: CallContext, *, due: datetime) -> int:
        assert call.account_id is not None
        return await self._repo.add_callback(
            account_id=call.account_id, campaign_id=call.campaign_id, number=call.number, due=due
        )
