"""A campaign in mode ivr (voice broadcast) through ``recobro serve``'s wiring on the real Asterisk.

The engine originates into ``recobro-ivr``; the dialplan runs AMD, then the platform's own
FastAGI server (serve's IVR) takes the call; what the IVR made of it becomes the call row's
outcome. The AMD-checked sipp phones: a voicemail greeting gets only the limited-content
message (``voicemail_left``); a person who says "¿Bueno?" and then nothing is greeted, asked
who they are, and let go politely (``no_input``). No agent is logged in: the IVR needs none.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from asterisk_config import phones
from recobro.runtime.demo_seed import seed_demo
from recobro.runtime.settings import Settings
from recobro.runtime.wiring import ServeOptions, build_platform
from recobro.storage.db import make_engine, make_sessionmaker
from recobro.storage.migrate import upgrade_engine
from recobro.storage.models import AccountRow, CallRow, CampaignAccountRow, CampaignRow, IvrEventRow, PhoneRow
from tests.e2e.ami_phones import ami_config
from tests.e2e.campaign_rig import noon_today
from tests.e2e.conftest import RunningAsterisk

pytestmark = pytest.mark.asterisk

KINDS = {"+525570000001": "machine", "+525570000002": "person"}


async def _seed(db_url: str) -> None:
    db = make_engine(db_url)
    try:
        await upgrade_engine(db)
        sessions = make_sessionmaker(db)
        now = noon_today()
        seeded = await seed_demo(sessions, sim_agents=0, company="Cobranza Uno", callback_number="+525511112222",
                                 now=now, password="demo-pass")
        async with sessions() as s, s.begin():
            await s.execute(update(CampaignRow).where(CampaignRow.id == seeded.campaign_id).values(
                mode="ivr", no_answer_timeout_seconds=15, window_start="00:00", window_end="23:59",
                voicemail_message=True))
            for i, e164 in enumerate(KINDS):
                acc = AccountRow(
                    external_ref=f"IVR-{i}", debtor_name=f"Deudora {i}", balance=Decimal("850.00"), currency="MXN",
                    due_date=date(2026, 11, 20), days_past_due=6, state="MX-CMX", content_hash=f"h{i}",
                    risk_score=Decimal(100 - i), created_at=now, updated_at=now,
                )
                acc.phones.append(PhoneRow(e164=e164, position=1, type="mobile", time_zones=["America/Mexico_City"]))
                s.add(acc)
                await s.flush()
                s.add(CampaignAccountRow(campaign_id=seeded.campaign_id, account_id=acc.id))
    finally:
        await db.dispose()


async def test_ivr_campaign_on_asterisk_amd_then_the_ivr_and_its_outcome_in_the_call_row(
    asterisk: RunningAsterisk, sipp_phones: dict[str, phones.SippPhone], tmp_path: Path
) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (Debian package espeak-ng)")
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'ivr-campaign.sqlite3'}"
    await _seed(db_url)
    inside = f"/tmp/recobro-ivr-campaign-{os.getpid()}"  # the data dir as the chrooted Asterisk sees it
    data_dir = asterisk.sandbox.root / inside.lstrip("/")
    settings = Settings.model_validate({
        "database_url": db_url, "data_dir": data_dir, "telephony": "asterisk",
        "agi_host": "127.0.0.1", "agi_port": asterisk.params.agi_port,
    })
    options = ServeOptions(
        campaign="demo", sim_agents=0, wall_start=noon_today(), ami=ami_config(asterisk),
        dial=lambda e164: sipp_phones[KINDS[e164]].dial_string(e164.lstrip("+")),
        ivr=True, ivr_pbx_prompts=f"{inside}/prompts",
    )
    platform = await build_platform(settings, options)
    try:
        await platform.start()
        rows: list[CallRow] = []
        for _ in range(900):  # the person's call: greeting, question, retry, goodbye (~30 s)
            await platform.engine.flush()
            async with platform.sessions() as s:
                rows = list((await s.execute(select(CallRow))).scalars())
            # Ended, and the IVR's own outcome in the row (it may land just after the PBX's hang-up).
            if len(rows) == len(KINDS) and all(r.ended_at is not None and r.outcome not in (None, "ivr") for r in rows):
                break
            await asyncio.sleep(0.1)
        async with platform.sessions() as s:
            events = [(e.call_id, e.kind, e.value) for e in (await s.execute(select(IvrEventRow))).scalars()]
    finally:
        await platform.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    by_kind = {KINDS[r.number]: r for r in rows}
    assert set(by_kind) == {"machine", "person"}, [(r.number, r.outcome) for r in rows]
    machine, person = by_kind["machine"], by_kind["person"]
    assert (machine.mode, machine.amd_verdict, machine.outcome) == ("ivr", "machine", "voicemail_left"), events
    assert (person.mode, person.amd_verdict, person.outcome) == ("ivr", "human", "no_input"), events
    assert [v for c, k, v in events if c == machine.id and k == "prompt"] == ["voicemail"]
    assert [v for c, k, v in events if c == person.id and k == "prompt"][:2] == ["greeting", "identity_question"]
    assert platform.ivr is not None and platform.ivr.server.served == 2
