"""Where the hopper's candidates come from: the campaign's accounts, their attempts and callbacks.

``HopperFeed`` keeps them in memory around one ``Hopper`` (the reservations); the engine asks it
for batches and tells it when a call is over, which releases the number and adds the attempt to
the history at once, so a retry delay or a daily cap holds from the moment the call ends.
``DbHopperSource`` fills a feed from the database: the history once at start (the engine's own
attempts are added as they end), the accounts, due callbacks and do-not-call numbers again every
``refresh_seconds`` so that a list imported or a callback agreed while the campaign runs is seen.
One source per campaign in one process, as the engine owns its campaign.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from dialer.selection import Batch, Callback, Hopper, Pick
from recobro.compliance.history import Attempt, History
from recobro.domain.accounts import Account
from recobro.domain.campaigns import Campaign, RetryOutcome
from recobro.domain.dispositions import DispositionCode
from recobro.storage.models import (
    AccountRow,
    CallbackRow,
    CallRow,
    CampaignAccountRow,
    DispositionRow,
    DncNumberRow,
)
from recobro.storage.repositories.accounts import account_from_row

HISTORY_DAYS = 8  # the longest look-back of any rule (7-in-7, quiet period) plus a day
_RETRY_OF_OUTCOME = {
    "busy": RetryOutcome.BUSY,
    "no_answer": RetryOutcome.NO_ANSWER,
    "machine": RetryOutcome.MACHINE,
    "abandoned": RetryOutcome.ABANDONED,
    "invalid": RetryOutcome.FAILED,
    "failed": RetryOutcome.FAILED,
}
_CONVERSATION = tuple(c.value for c in DispositionCode if c.is_conversation)


class HopperFeed:
    """Candidates, history, callbacks and do-not-call numbers in memory, around one Hopper."""

    def __init__(
        self,
        candidates: Sequence[Account] = (),
        attempts: Iterable[Attempt] = (),
        callbacks: Sequence[Callback] = (),
        dnc_numbers: frozenset[str] = frozenset(),
    ) -> None:
        self.hopper = Hopper()
        self.candidates: Sequence[Account] = candidates
        self.callbacks: list[Callback] = list(callbacks)
        self.dnc_numbers = dnc_numbers
        self._attempts: list[Attempt] = list(attempts)
        self._history: History | None = None

    @property
    def attempts(self) -> Sequence[Attempt]:
        return tuple(self._attempts)

    def take(self, n: int, campaign: Campaign, now: datetime, *, agent_ready_now: bool) -> Batch:
        if self._history is None:
            self._history = History(self._attempts)
        batch = self.hopper.next_batch(
            self.candidates,
            self._history,
            self.callbacks,
            campaign,
            now,
            n,
            agent_ready_now=agent_ready_now,
            dnc_numbers=self.dnc_numbers,
        )
        taken = {id(p.callback) for p in batch.picks if p.callback is not None}
        if taken:
            self.callbacks = [cb for cb in self.callbacks if id(cb) not in taken]
        return batch

    def finished(self, pick: Pick, attempt: Attempt | None) -> None:
        if attempt is not None:
            self._attempts.append(attempt)
            self._history = None  # re-indexed on the next batch
        self.hopper.release(pick.phone.e164)


class DbHopperSource:
    """A ``NumberSource`` (``dialer.ports``) for one campaign, read from the database."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], campaign_id: int, *, refresh_seconds: float = 120.0
    ) -> None:
        self._sessions = sessions
        self.campaign_id = campaign_id
        self.refresh_seconds = refresh_seconds
        self.feed = HopperFeed()
        self._loaded_at: datetime | None = None
        self._history_loaded = False
        self._callback_rows: dict[tuple[str, datetime], int] = {}

    async def take(self, n: int, campaign: Campaign, now: datetime, *, agent_ready_now: bool) -> Batch:
        if self._loaded_at is None or (now - self._loaded_at).total_seconds() >= self.refresh_seconds:
            await self.refresh(now)
        batch = self.feed.take(n, campaign, now, agent_ready_now=agent_ready_now)
        done = [
            self._callback_rows.pop((p.callback.account_ref, p.callback.due_at))
            for p in batch.picks
            if p.callback is not None and (p.callback.account_ref, p.callback.due_at) in self._callback_rows
        ]
        if done:
            async with self._sessions() as s, s.begin():
                await s.execute(update(CallbackRow).where(CallbackRow.id.in_(done)).values(done=True))
        return batch

    def finished(self, pick: Pick, attempt: Attempt | None) -> None:
        self.feed.finished(pick, attempt)

    async def count(self) -> int:
        """Accounts assigned to the campaign (for the start-up message)."""
        async with self._sessions() as s:
            q = select(func.count()).select_from(CampaignAccountRow).where(
                CampaignAccountRow.campaign_id == self.campaign_id
            )
            return int((await s.execute(q)).scalar_one())

    async def refresh(self, now: datetime) -> None:
        """Reload accounts, due callbacks and do-not-call numbers (and the history, the first time)."""
        async with self._sessions() as s:
            accounts = [account_from_row(r) for r in await self._accounts(s)]
            callbacks = await self._callbacks(s)
            dnc = frozenset((await s.execute(select(DncNumberRow.e164))).scalars())
            if not self._history_loaded:
                attempts = await self._history(s, now)
                self.feed = HopperFeed(accounts, attempts, callbacks, dnc)
                self._history_loaded = True
            else:
                self.feed.candidates = accounts
                self.feed.callbacks = callbacks
                self.feed.dnc_numbers = dnc
        self._loaded_at = now

    async def _accounts(self, s: AsyncSession) -> Sequence[AccountRow]:
        q = (
            select(AccountRow)
            .join(CampaignAccountRow, CampaignAccountRow.account_id == AccountRow.id)
            .where(CampaignAccountRow.campaign_id == self.campaign_id)
            .options(selectinload(AccountRow.phones))
            .order_by(AccountRow.id)
        )
        return (await s.execute(q)).scalars().all()

    async def _callbacks(self, s: AsyncSession) -> list[Callback]:
        q = (
            select(CallbackRow.id, AccountRow.external_ref, CallbackRow.due_at, CallbackRow.number)
            .join(AccountRow, AccountRow.id == CallbackRow.account_id)
            .join(
                CampaignAccountRow,
                and_(
                    CampaignAccountRow.account_id == CallbackRow.account_id,
                    CampaignAccountRow.campaign_id == self.campaign_id,
                ),
            )
            .where(CallbackRow.done.is_(False))
            .where((CallbackRow.campaign_id == self.campaign_id) | CallbackRow.campaign_id.is_(None))
        )
        out: list[Callback] = []
        self._callback_rows = {}
        for row_id, ref, due_at, number in (await s.execute(q)).all():
            out.append(Callback(account_ref=ref, due_at=due_at, number=number))
            self._callback_rows[(ref, due_at)] = row_id
        return out

    async def _history(self, s: AsyncSession, now: datetime) -> list[Attempt]:
        """Every attempt on the campaign's accounts (in any campaign) over the rules' look-back."""
        talked = exists().where(and_(DispositionRow.call_id == CallRow.id, DispositionRow.code.in_(_CONVERSATION)))
        at = func.coalesce(CallRow.dialed_at, CallRow.queued_at)
        q = (
            select(CallRow.number, AccountRow.external_ref, CallRow.dialed_at, CallRow.queued_at, CallRow.outcome,
                   talked.label("talked"))
            .join(AccountRow, AccountRow.id == CallRow.account_id)
            .join(
                CampaignAccountRow,
                and_(
                    CampaignAccountRow.account_id == CallRow.account_id,
                    CampaignAccountRow.campaign_id == self.campaign_id,
                ),
            )
            .where(at >= now - timedelta(days=HISTORY_DAYS))
        )
        attempts: list[Attempt] = []
        for number, ref, dialed_at, queued_at, outcome, conversation in (await s.execute(q)).all():
            when = dialed_at or queued_at
            if when is None:
                continue
            attempts.append(
                Attempt(
                    number=number,
                    account_ref=ref,
                    at=when,
                    outcome=_RETRY_OF_OUTCOME.get(outcome or ""),
                    conversation=bool(conversation),
                )
            )
        return attempts
