"""The DB-backed hopper source: history from earlier runs holds numbers back, due callbacks go first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialer.hopper_source import DbHopperSource
from recobro.compliance.history import Attempt
from recobro.domain.campaigns import CallingWindow, Campaign, RetryOutcome
from recobro.domain.ids import CampaignId
from recobro.storage.db import make_engine, make_sessionmaker
from recobro.storage.models import (
    AccountRow,
    AgentRow,
    Base,
    CallbackRow,
    CallRow,
    CampaignAccountRow,
    CampaignRow,
    DispositionRow,
    PhoneRow,
)

NOON = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)  # 12:00 in Mexico City
CAMPAIGN = Campaign(name="t", window=CallingWindow(), id=CampaignId(1))


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    made = make_sessionmaker(engine)
    async with made() as s, s.begin():
        s.add(CampaignRow(id=1, name="t", created_at=NOON))
        s.add(AgentRow(id=1, username="a", display_name="A", password_hash="x"))
        for i in range(4):
            acc = AccountRow(id=i + 1, external_ref=f"A-{i}", debtor_name="X", balance=Decimal(100 * (4 - i)),
                             currency="MXN", due_date=date(2026, 2, 1), days_past_due=31, state="MX-CMX",
                             risk_score=Decimal(90 - i), content_hash="h", created_at=NOON, updated_at=NOON)
            acc.phones.append(PhoneRow(e164=f"+52551000{i:04d}", position=1, type="mobile",
                                       time_zones=["America/Mexico_City"]))
            s.add(acc)
            await s.flush()
            s.add(CampaignAccountRow(campaign_id=1, account_id=i + 1))
        # A-0 was abandoned an hour ago (72 h rule); A-1 talked with an agent yesterday (7 quiet days).
        s.add(CallRow(id="c0", campaign_id=1, account_id=1, number="+525510000000", state="ended",
                      dialed_at=NOON - timedelta(hours=1), outcome="abandoned"))
        s.add(CallRow(id="c1", campaign_id=1, account_id=2, number="+525510000001", state="ended",
                      dialed_at=NOON - timedelta(days=1), outcome="connected"))
        await s.flush()
        s.add(DispositionRow(call_id="c1", account_id=2, agent_id=1, code="refused", created_at=NOON))
        # A-3 asked to be called back ten minutes ago: it goes before A-2 despite the lower risk.
        s.add(CallbackRow(id=9, account_id=4, campaign_id=1, number=None, due_at=NOON - timedelta(minutes=10)))
    yield made
    await engine.dispose()


async def test_history_and_callbacks_from_the_database_decide_the_batch(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    source = DbHopperSource(sessions, 1)
    assert await source.count() == 4
    batch = await source.take(4, CAMPAIGN, NOON, agent_ready_now=False)
    assert [p.account.external_ref for p in batch.picks] == ["A-3", "A-2"]
    assert batch.picks[0].callback is not None
    assert batch.counts_by_rule() == {"abandon.72h": 1, "frequency.after_conversation": 1}
    async with sessions() as s:
        assert (await s.execute(select(CallbackRow.done).where(CallbackRow.id == 9))).scalar_one() is True
    # Both picked numbers are reserved until their calls end.
    assert (await source.take(4, CAMPAIGN, NOON, agent_ready_now=False)).picks == ()
    pick = batch.picks[1]
    source.finished(pick, Attempt(pick.phone.e164, "A-2", NOON, outcome=RetryOutcome.BUSY))
    later = await source.take(4, CAMPAIGN, NOON + timedelta(minutes=16), agent_ready_now=False)
    assert [p.account.external_ref for p in later.picks] == ["A-2"]  # the 15-minute busy delay is over
