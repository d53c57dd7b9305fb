"""Preview and manual dialing from the desktop, inside the compliance rules.

A number the agent wants to dial must be one of the account's phones, and the same rules the
hopper applies (calling windows, frequency caps, DNC, 72 h after an abandon...) must allow it
now; a refusal names the rule (``Refusal.rule``) and says why in Spanish and English. Placing
the call is the dialer's job (``ManualDialer``, wired by the runtime).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from recobro.compliance.history import Attempt
from recobro.compliance.rules import check_dial
from recobro.domain.accounts import Account
from recobro.domain.campaigns import Campaign, RetryOutcome
from recobro.domain.dispositions import DispositionCode
from recobro.domain.errors import NotFound, ValidationError
from recobro.storage.models import AccountRow, CallRow, CampaignAccountRow, CampaignRow, DispositionRow, DncNumberRow
from recobro.storage.repositories.accounts import AccountRepository
from recobro.storage.repositories.campaigns import campaign_from_row

_RETRY = {"busy": RetryOutcome.BUSY, "no_answer": RetryOutcome.NO_ANSWER, "machine": RetryOutcome.MACHINE,
          "abandoned": RetryOutcome.ABANDONED, "invalid": RetryOutcome.FAILED, "failed": RetryOutcome.FAILED}
_TALKED = [c.value for c in DispositionCode if c.is_conversation]
HISTORY_DAYS = 35


@dataclass(frozen=True, slots=True)
class DialVerdict:
    account: Account
    number: str
    campaign: Campaign
    rule: str | None = None
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.rule is None


class Dialing:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._accounts = AccountRepository(sessions)

    async def campaign(self, campaign_id: int) -> Campaign:
        async with self._sessions() as s:
            row = await s.get(CampaignRow, campaign_id)
        if row is None:
            raise NotFound(f"no existe la campaña / no such campaign: {campaign_id}", code="campaign_not_found")
        return campaign_from_row(row)

    async def check(self, account_id: int, number: str | None, campaign: Campaign, now: datetime) -> DialVerdict:
        """May the agent dial ``number`` (default: the account's first phone) of the account now?"""
        account = await self._accounts.account(account_id)
        phones = [p for p in account.phones if number is None or p.e164 == number]
        if not phones:
            raise ValidationError("el número no es de la cuenta / the number is not one of the account's phones",
                                  field="number", value=number)
        phone = phones[0]
        async with self._sessions() as s:
            history = await self._history(s, account, now)
            dnc = set((await s.execute(select(DncNumberRow.e164).where(DncNumberRow.e164 == phone.e164))).scalars())
        refusal = check_dial(account, phone, campaign, history, now, agent_ready_now=True, dnc_numbers=dnc)
        if refusal is None:
            return DialVerdict(account, phone.e164, campaign)
        return DialVerdict(account, phone.e164, campaign, rule=refusal.rule, reason=refusal.reason)

    async def next_preview(self, campaign: Campaign, now: datetime, *, skip: set[int]) -> DialVerdict | None:
        """The next account of the campaign's list that may be dialed now (most days past due first)."""
        assert campaign.id is not None
        at = func.coalesce(CallRow.dialed_at, CallRow.queued_at)
        called_today = exists().where(and_(CallRow.account_id == AccountRow.id, at >= now - timedelta(hours=24)))
        q = (select(AccountRow.id).join(CampaignAccountRow, CampaignAccountRow.account_id == AccountRow.id)
             .where(CampaignAccountRow.campaign_id == int(campaign.id), AccountRow.do_not_call.is_(False),
                    ~called_today)
             .order_by(AccountRow.days_past_due.desc(), AccountRow.id).limit(50 + len(skip)))
        async with self._sessions() as s:
            candidates = [int(i) for i in (await s.execute(q)).scalars() if int(i) not in skip]
        for account_id in candidates[:50]:
            try:
                verdict = await self.check(account_id, None, campaign, now)
            except ValidationError:
                continue  # no phone
            if verdict.allowed:
                return verdict
        return None

    async def _history(self, s: AsyncSession, account: Account, now: datetime) -> list[Attempt]:
        talked = exists().where(and_(DispositionRow.call_id == CallRow.id, DispositionRow.code.in_(_TALKED)))
        at = func.coalesce(CallRow.dialed_at, CallRow.queued_at)
        q = (select(CallRow.number, CallRow.dialed_at, CallRow.queued_at, CallRow.outcome, talked.label("talked"))
             .where(CallRow.account_id == int(account.id or 0), at >= now - timedelta(days=HISTORY_DAYS)))
        out: list[Attempt] = []
        for number, dialed_at, queued_at, outcome, conversation in (await s.execute(q)).all():
            when = dialed_at or queued_at
            if when is not None:
                out.append(Attempt(number=number, account_ref=account.external_ref, at=when,
                                   outcome=_RETRY.get(outcome or ""), conversation=bool(conversation)))
        return out


def refusal_message(verdict: DialVerdict, request_type: str) -> dict[str, Any]:
    return {"type": "error", "v": 1, "error": "compliance_refused", "rule": verdict.rule,
            "message": verdict.reason, "request_type": request_type, "number": verdict.number}
