"""Asterisk restarted in the middle of a campaign driven by serve's wiring (campaign_rig.py).

While people talk to agents and other numbers ring, the sandbox's Asterisk is stopped and
started again. The platform must notice (the engine stops dialing while the link is down: no
call row is queued in that time), reconnect, close every call that was up with the outcome its
state at the restart implies, seat the agents' phones again, and go on dialing until every
number is done — each number exactly once in the calls table (their retry delays are hours).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from asterisk_config import phones as sipp
from recobro.domain.calls import CallState
from tests.e2e.campaign_rig import EXPECTED, plan, running_campaign
from tests.e2e.conftest import REPO, RunningAsterisk, asterisk_unavailable

pytestmark = pytest.mark.asterisk

MIX = {"person": 9, "machine": 3, "busy": 2, "ring": 3, "reject": 3}
AUDIO = REPO / "var" / "sipp-audio"
_UNANSWERED = {CallState.QUEUED, CallState.DIALING, CallState.RINGING}


@pytest.fixture(scope="module")
def restart_phones(asterisk: RunningAsterisk, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    tuple[dict[str, sipp.SippPhone], list[sipp.SippPhone]]
]:
    reason = sipp.missing_tools()
    if reason is not None:
        asterisk_unavailable(reason)
    kinds = [*EXPECTED, "agent", "agent", "agent"]
    with sipp.phones(kinds, AUDIO, tmp_path_factory.mktemp("restart-phones"), answer_delay_ms=300) as started:
        yield {p.kind: p for p in started if p.kind != "agent"}, [p for p in started if p.kind == "agent"]


def _allowed(state: CallState) -> set[str]:
    """The outcomes a call in ``state`` when the PBX went away may end with."""
    if state == CallState.CONNECTED:
        return {"connected"}
    if state in (CallState.HUMAN, CallState.ANSWERED):
        return {"abandoned"}
    if state == CallState.MACHINE:
        return {"machine"}
    return {"failed", "no_answer", "busy", "invalid"}  # lost while ringing, or its own end just before


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def test_an_asterisk_restart_mid_campaign_closes_live_calls_and_dialing_resumes(
    asterisk: RunningAsterisk, restart_phones: Any, tmp_path: Path
) -> None:
    debtors, agent_phones = restart_phones
    kinds = plan(MIX)
    async with running_campaign(asterisk, debtors, agent_phones, tmp_path, kinds, sim_agents=3,
                                audio_dir=AUDIO) as rig:
        engine, clock = rig.platform.engine, rig.platform.clock
        async with asyncio.timeout(40):  # someone is talking to an agent
            while engine.counts.connects < 1:
                await asyncio.sleep(0.05)
        at_restart = {cid: live.call.state for cid, live in engine._live.items()}
        stopping = asyncio.create_task(asyncio.to_thread(asterisk.sandbox.stop))
        async with asyncio.timeout(10):
            while not engine.pbx_down:
                await asyncio.sleep(0.01)
        down_seen, dials_when_down = clock.wall(), engine.counts.dials
        await stopping
        await asyncio.sleep(0.5)  # the link is known to be down: nothing may be dialed
        assert engine.counts.dials == dials_when_down
        await asyncio.to_thread(asterisk.sandbox.start, asterisk.params)
        async with asyncio.timeout(20):
            while engine.pbx_down:
                await asyncio.sleep(0.05)
        up_seen = clock.wall()
        await rig.wait_done(len(kinds), timeout=120)
        calls = await rig.calls()
        legs = rig.platform.legs
        assert legs is not None and legs.calls_made >= 6  # 3 agents seated, and seated again

    assert at_restart, "no call was up at the restart"
    dialed = [c for c in calls if c.dialed_at is not None]
    assert sorted(c.number for c in dialed) == sorted(rig.numbers), "every number dialed once, none twice"
    refused = [c for c in calls if c.dialed_at is None and c.id not in at_restart]
    assert all(c.outcome == "failed" for c in refused)  # refused by an Asterisk shutting down, dialed later
    by_id = {c.id: c for c in calls}
    for call_id, state in at_restart.items():
        row = by_id[call_id]
        assert row.ended_at is not None and row.outcome in _allowed(state), (call_id, state, row.outcome)
    queued_while_down = [c.id for c in calls if down_seen <= _utc(c.queued_at) <= up_seen]
    assert not queued_while_down
    assert not [c for c in dialed if c.outcome == "failed" and c.id not in at_restart], "dialed calls FAILED"
    after = [c for c in calls if _utc(c.queued_at) > up_seen]
    assert after, "dialing did not resume"
    wrong = [(c.number, rig.numbers[c.number], c.outcome) for c in after
             if c.outcome not in EXPECTED[rig.numbers[c.number]]]
    assert not wrong, wrong
    print(json.dumps({"restart": {"live_at_restart": {k: v.value for k, v in at_restart.items()},
                                  "outcomes": {c.id: c.outcome for c in calls if c.id in at_restart},
                                  "down_seconds": round((up_seen - down_seen).total_seconds(), 2),
                                  "refused_while_stopping": len(refused), "dialed_after": len(after)}}))
