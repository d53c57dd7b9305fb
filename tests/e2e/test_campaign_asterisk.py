"""A predictive campaign through the real Asterisk: 3 agents (sipp softphones), 30 numbers of every kind.

The platform is ``recobro serve``'s own wiring on RECOBRO_TELEPHONY=asterisk (campaign_rig.py):
two simulated agents and one agent at the desktop over a real /ws/agent websocket on uvicorn.
Every call must end with its phone kind's outcome; every person either talks to an agent (the
debtor's channel joins the ConfBridge where that agent's sipp leg sits) or hears the abandon
message (RecobroAbandonDone Played=message). The time from the AMD verdict (UserEvent RecobroAmd,
Asterisk's own microsecond timestamps) to the debtor joining the agent's bridge is measured on
every connected call; p50/p95 are printed as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asterisk_config import phones as sipp
from tests.e2e.ami_probe import AmiProbe
from tests.e2e.campaign_rig import EXPECTED, desk_agent, extension, percentile, plan, running_campaign
from tests.e2e.conftest import REPO, RunningAsterisk, asterisk_unavailable

pytestmark = pytest.mark.asterisk

MIX = {"person": 12, "machine": 6, "busy": 4, "ring": 4, "reject": 4}
AUDIO = REPO / "var" / "sipp-audio"


@pytest.fixture(scope="module")
def rig_phones(asterisk: RunningAsterisk, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    tuple[dict[str, sipp.SippPhone], list[sipp.SippPhone]]
]:
    reason = sipp.missing_tools()
    if reason is not None:
        asterisk_unavailable(reason)
    kinds = [*EXPECTED, "agent", "agent", "agent"]
    with sipp.phones(kinds, AUDIO, tmp_path_factory.mktemp("rig-phones"), answer_delay_ms=300) as started:
        debtors = {p.kind: p for p in started if p.kind != "agent"}
        yield debtors, [p for p in started if p.kind == "agent"]


def amd_to_bridge(ami: AmiProbe, call_id: str, conference: str) -> float | None:
    """Seconds from the AMD verdict to the debtor joining ``conference`` (Asterisk's timestamps)."""
    amd = join = None
    for m in list(ami.messages):
        if m.get("UserEvent") == "RecobroAmd" and m.get("CallId") == call_id:
            amd = float(m["Timestamp"])
        elif (m.get("Event") == "ConfbridgeJoin" and m.get("Conference") == conference
              and m.get("var.RECOBRO_CALL_ID") == call_id):
            join = float(m["Timestamp"])
    return None if amd is None or join is None else join - amd


def agent_seated_at_join(ami: AmiProbe, call_id: str, conference: str) -> bool:
    """The agent's own leg (no call id) was in the conference when the debtor joined it."""
    seated = False
    for m in list(ami.messages):
        if m.get("Conference") != conference:
            continue
        if m.get("var.RECOBRO_CALL_ID"):
            if m.get("Event") == "ConfbridgeJoin" and m.get("var.RECOBRO_CALL_ID") == call_id:
                return seated
            continue
        if m.get("Event") == "ConfbridgeJoin":
            seated = True
        elif m.get("Event") == "ConfbridgeLeave":
            seated = False
    return False


async def test_predictive_campaign_of_every_phone_kind_through_asterisk(
    asterisk: RunningAsterisk, rig_phones: Any, ami: AmiProbe, tmp_path: Path
) -> None:
    debtors, agent_phones = rig_phones
    kinds = plan(MIX)
    pops: list[dict[str, Any]] = []
    async with running_campaign(asterisk, debtors, agent_phones, tmp_path, kinds, sim_agents=2,
                                audio_dir=AUDIO) as rig:
        desk = asyncio.create_task(desk_agent(rig, "sim03", pops))
        try:
            await rig.wait_done(len(kinds), timeout=150)
            assert not desk.done(), desk.exception() if desk.done() else None
        finally:
            desk.cancel()
            await asyncio.gather(desk, return_exceptions=True)
        calls = await rig.calls()
        ext_of = {agent_id: extension(int(name[3:])) for name, agent_id in rig.agent_ids.items()
                  if name.startswith("sim")}

    assert sorted(c.number for c in calls) == sorted(rig.numbers), "each number dialed exactly once"
    wrong = [(c.number, rig.numbers[c.number], c.outcome) for c in calls
             if c.outcome not in EXPECTED[rig.numbers[c.number]]]
    assert not wrong, wrong
    latencies: list[float] = []
    for c in calls:
        if rig.numbers[c.number] != "person":
            continue
        if c.outcome == "connected":
            assert c.agent_id in ext_of, (c.id, c.agent_id)
            conference = f"recobro-agent-{ext_of[c.agent_id]}"
            seconds = amd_to_bridge(ami, c.id, conference)
            assert seconds is not None, f"{c.id}: no AMD verdict or no join of {conference}"
            assert agent_seated_at_join(ami, c.id, conference), f"{c.id}: the agent's leg was not in {conference}"
            latencies.append(seconds)
        else:
            done = ami.user_event("RecobroAbandonDone", c.id, timeout=5)
            assert done.get("Played") == "message" and done.get("PlaybackStatus") == "SUCCESS", done
    by_outcome = {o: sum(1 for c in calls if c.outcome == o) for o in {c.outcome for c in calls}}
    assert latencies, f"no person reached an agent: {by_outcome}"
    # The desk agent's websocket got the screen pop of a call it then talked on.
    assert pops, "the desk agent received no screen pop"
    talked = {c.id: c for c in calls if c.outcome == "connected"}
    assert pops[0]["call_id"] in talked and talked[pops[0]["call_id"]].agent_id == rig.agent_ids["sim03"]
    assert pops[0]["number"] == talked[pops[0]["call_id"]].number and pops[0]["account"]["balance"]
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(json.dumps({"amd_to_bridge_seconds": {"n": len(latencies), "p50": round(p50, 4), "p95": round(p95, 4),
                                                "max": round(max(latencies), 4)}, "outcomes": by_outcome,
                      "screen_pops": len(pops)}))
    assert p95 < 2.0


async def test_a_person_whose_agent_lost_their_phone_hears_the_abandon_message(
    asterisk: RunningAsterisk, rig_phones: Any, ami: AmiProbe, tmp_path: Path
) -> None:
    """The ACD has a ready agent whose phone never got into the bridge (it answers busy): the
    connect finds the bridge empty and the person hears the campaign's abandon message (the
    sound abandon-<campaign id>: the hyphen survives the dialplan's name check)."""
    debtors, _ = rig_phones
    start = len(ami.messages)
    async with running_campaign(asterisk, debtors, [debtors["busy"]], tmp_path, ["person", "person"],
                                sim_agents=1, audio_dir=AUDIO, seat_timeout=0.5) as rig:
        await rig.wait_done(2, timeout=40)
        calls = await rig.calls()
    assert [c.outcome for c in calls] == ["abandoned", "abandoned"]
    for c in calls:
        def failed(m: dict[str, str], cid: str = c.id) -> bool:
            return m.get("UserEvent") == "RecobroConnectFailed" and m.get("CallId") == cid

        ami.wait(failed, timeout=5, start=start)
        done = ami.user_event("RecobroAbandonDone", c.id, timeout=5)
        assert done.get("Played") == "message" and done.get("PlaybackStatus") == "SUCCESS", done
