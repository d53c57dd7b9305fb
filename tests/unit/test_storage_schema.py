"""The migrations build the schema on SQLite and on a real PostgreSQL, and times stay aware."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from recobro.storage.db import make_engine, make_sessionmaker
from recobro.storage.migrate import upgrade_engine
from recobro.storage.models import AccountRow, Base, PhoneRow


async def _roundtrip(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        await upgrade_engine(engine)
        sessions = make_sessionmaker(engine)
        stamp = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=-6)))
        async with sessions() as s, s.begin():
            acc = AccountRow(
                external_ref="A-1", debtor_name="José Núñez", balance=Decimal("1234.50"), currency="MXN",
                due_date=date(2026, 2, 1), days_past_due=28, content_hash="x", extra={"k": "v"},
                created_at=stamp, updated_at=stamp,
            )
            acc.phones.append(PhoneRow(e164="+525512345678", position=1, time_zones=["America/Mexico_City"]))
            s.add(acc)
        async with sessions() as s:
            got = (await s.execute(select(AccountRow))).scalar_one()
            assert got.balance == Decimal("1234.50")
            assert got.created_at == stamp
            assert got.created_at.tzinfo is not None
            assert got.created_at.astimezone(UTC).hour == 15
            phones = (await s.execute(select(PhoneRow))).scalars().all()
            assert [p.e164 for p in phones] == ["+525512345678"]
    finally:
        await engine.dispose()


async def test_schema_on_sqlite(tmp_path: Path) -> None:
    await _roundtrip(f"sqlite+aiosqlite:///{tmp_path / 'r.sqlite3'}")


@pytest.mark.postgres
async def test_schema_on_postgres(postgres_url: str) -> None:
    await _roundtrip(postgres_url)
