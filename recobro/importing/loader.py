"""Storing validated accounts: one transaction, chunked bulk statements, keyed by ``external_ref``.

New references are inserted, changed ones (by ``content_hash``) updated with their phones
replaced, unchanged ones left alone; every account of the file is assigned to the campaign.
Statements are executemany batches of ``chunk_size`` rows (SQLAlchemy's "insertmanyvalues"
turns them into multi-row INSERT ... RETURNING on SQLite and PostgreSQL alike), never one ORM
object per row, so 100,000 rows take seconds rather than minutes.

Operational flags an import does not carry — an account's ``do_not_call`` and ``pin_hash``, a
phone's ``consent`` and ``do_not_call`` — survive an update: phones are replaced, but a number
that stays on the account keeps its flags.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from recobro.importing.fingerprint import content_hash
from recobro.importing.rows import AccountDraft
from recobro.storage.models import AccountRow, CampaignAccountRow, CampaignRow, PhoneRow

ACCOUNTS = cast(Table, AccountRow.__table__)
PHONES = cast(Table, PhoneRow.__table__)
CAMPAIGNS = cast(Table, CampaignRow.__table__)
LINKS = cast(Table, CampaignAccountRow.__table__)

DEFAULT_CHUNK = 1000
_LOOKUP_CHUNK = 500  # bound parameters per IN (...) lookup

T = TypeVar("T")
Progress = Callable[[int], None]  # called with how many accounts were just written
PhoneFlags = dict[tuple[int, str], tuple[bool, bool]]  # (account_id, e164) -> (consent, do_not_call)


@dataclass(frozen=True, slots=True)
class LoadResult:
    imported: int
    updated: int
    unchanged: int
    campaign_id: int
    campaign_created: bool
    assigned: int  # accounts newly added to the campaign's list


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _account_values(draft: AccountDraft, digest: str) -> dict[str, Any]:
    acc = draft.account
    return {
        "external_ref": acc.external_ref,
        "debtor_name": acc.debtor_name,
        "national_id": acc.national_id,
        "balance": acc.balance,
        "currency": acc.currency,
        "due_date": acc.due_date,
        "days_past_due": acc.days_past_due,
        "segment": acc.segment,
        "risk_score": acc.risk_score,
        "language": acc.language,
        "state": acc.state,
        "region": acc.region,
        "extra": acc.extra,
        "content_hash": digest,
    }


async def _campaign_id(conn: AsyncConnection, name: str, now: datetime) -> tuple[int, bool]:
    found = (await conn.execute(select(CAMPAIGNS.c.id).where(CAMPAIGNS.c.name == name))).scalar_one_or_none()
    if found is not None:
        return int(found), False
    new_id = (
        await conn.execute(insert(CAMPAIGNS).values(name=name, created_at=now).returning(CAMPAIGNS.c.id))
    ).scalar_one()
    return int(new_id), True


async def _existing(conn: AsyncConnection, refs: Sequence[str]) -> dict[str, tuple[int, str]]:
    """external_ref -> (id, content_hash) of the accounts already stored."""
    found: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(refs, _LOOKUP_CHUNK):
        stmt = select(ACCOUNTS.c.external_ref, ACCOUNTS.c.id, ACCOUNTS.c.content_hash).where(
            ACCOUNTS.c.external_ref.in_(chunk)
        )
        for ref, acc_id, digest in await conn.execute(stmt):
            found[ref] = (int(acc_id), digest)
    return found


async def _kept_phone_flags(conn: AsyncConnection, account_ids: Sequence[int]) -> PhoneFlags:
    """The flags of the phones about to be replaced, for those that carry one."""
    flags: PhoneFlags = {}
    for chunk in _chunks(account_ids, _LOOKUP_CHUNK):
        stmt = select(PHONES.c.account_id, PHONES.c.e164, PHONES.c.consent, PHONES.c.do_not_call).where(
            PHONES.c.account_id.in_(chunk), PHONES.c.consent | PHONES.c.do_not_call
        )
        for acc_id, e164, consent, dnc in await conn.execute(stmt):
            flags[(int(acc_id), e164)] = (bool(consent), bool(dnc))
    return flags


def _phone_values(account_id: int, draft: AccountDraft, flags: PhoneFlags) -> Iterator[dict[str, Any]]:
    for phone in draft.account.phones:
        consent, dnc = flags.get((account_id, phone.e164), (False, False))
        yield {
            "account_id": account_id,
            "e164": phone.e164,
            "position": phone.position,
            "type": str(phone.type),
            "consent": consent,
            "do_not_call": dnc,
            "time_zones": list(phone.time_zones),
        }


async def _insert_accounts(
    conn: AsyncConnection, new: Sequence[tuple[AccountDraft, str]], now: datetime, chunk_size: int, tick: Progress
) -> list[tuple[AccountDraft, int]]:
    """Insert the new accounts; returns each with its id.

    PostgreSQL hands the ids back in order from a batched INSERT .. RETURNING (looking them up
    afterwards would be planned with the statistics of the table as it was before the insert:
    a sequential scan per lookup). SQLite cannot batch an ordered RETURNING and falls back to
    one statement per row, so there the ids are looked up by reference after a plain executemany.
    """
    returning = conn.dialect.name != "sqlite"
    stmt = insert(ACCOUNTS).returning(ACCOUNTS.c.id, sort_by_parameter_order=True) if returning else insert(ACCOUNTS)
    inserted: list[tuple[AccountDraft, int]] = []
    for chunk in _chunks(new, chunk_size):
        values = [{**_account_values(d, h), "created_at": now, "updated_at": now} for d, h in chunk]
        result = await conn.execute(stmt, values)
        if returning:
            inserted.extend((d, int(i)) for (d, _), i in zip(chunk, result.scalars().all(), strict=True))
        tick(len(chunk))
    if not returning:
        found = await _existing(conn, [d.account.external_ref for d, _ in new])
        inserted = [(d, found[d.account.external_ref][0]) for d, _ in new]
    return inserted


async def load_accounts(
    engine: AsyncEngine,
    drafts: Sequence[AccountDraft],
    *,
    campaign: str,
    now: datetime,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
) -> LoadResult:
    """Upsert ``drafts`` and assign them to ``campaign`` (created if missing) in one transaction."""
    refs = [d.account.external_ref for d in drafts]
    if len(set(refs)) != len(refs):
        raise ValueError("load_accounts needs unique external_ref values (RowValidator drops repeats)")
    tick = progress or (lambda _n: None)
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # The lookups are prepared statements: a plan cached while the table was small
            # (a sequential scan) would be reused for every chunk once the table is large.
            await conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
        campaign_id, created = await _campaign_id(conn, campaign, now)
        existing = await _existing(conn, refs)
        ids: dict[str, int] = {}
        new: list[tuple[AccountDraft, str]] = []
        changed: list[tuple[AccountDraft, str, int]] = []
        for draft in drafts:
            digest = content_hash(draft)
            stored = existing.get(draft.account.external_ref)
            if stored is None:
                new.append((draft, digest))
            elif stored[1] != digest:
                changed.append((draft, digest, stored[0]))
            else:
                ids[draft.account.external_ref] = stored[0]
        tick(len(ids))

        phones: list[dict[str, Any]] = []
        for draft, acc_id in await _insert_accounts(conn, new, now, chunk_size, tick):
            ids[draft.account.external_ref] = acc_id
            phones.extend(_phone_values(acc_id, draft, {}))

        update_accounts = update(ACCOUNTS).where(ACCOUNTS.c.id == bindparam("_id"))
        for batch in _chunks(changed, chunk_size):
            account_ids = [acc_id for _, _, acc_id in batch]
            flags = await _kept_phone_flags(conn, account_ids)
            await conn.execute(delete(PHONES).where(PHONES.c.account_id.in_(account_ids)))
            changes = [{**_account_values(d, h), "updated_at": now, "_id": acc_id} for d, h, acc_id in batch]
            await conn.execute(update_accounts, changes)
            for draft, _, acc_id in batch:
                ids[draft.account.external_ref] = acc_id
                phones.extend(_phone_values(acc_id, draft, flags))
            tick(len(batch))

        for phone_chunk in _chunks(phones, chunk_size):
            await conn.execute(insert(PHONES), list(phone_chunk))

        linked = set(
            (await conn.execute(select(LINKS.c.account_id).where(LINKS.c.campaign_id == campaign_id))).scalars()
        )
        links = [{"campaign_id": campaign_id, "account_id": i} for i in ids.values() if i not in linked]
        for link_chunk in _chunks(links, chunk_size):
            await conn.execute(insert(LINKS), list(link_chunk))

    return LoadResult(
        imported=len(new),
        updated=len(changed),
        unchanged=len(drafts) - len(new) - len(changed),
        campaign_id=campaign_id,
        campaign_created=created,
        assigned=len(links),
    )
