"""Originations per second that the sandbox's Asterisk + sipp sustain with the platform driving them,
and the answer-to-agent connect latency at that load.

A throw-away sandbox instance (root; the cached chroot of ``recobro asterisk sandbox``), one sipp
"person" phone (answers, says "¿Bueno?": AMD HUMAN) standing for every debtor, one sipp agent
softphone standing for ``--agents`` agents, each seated in their own ConfBridge through the
platform's ``AmiTelephony.start_agent_session``. The driver is the platform's own port
(``AmiTelephony``): it originates at a fixed rate into recobro-outbound (AMD on), and on each
``CallAmd`` HUMAN redirects the person to a free agent's bridge (``connect_to_agent``), holds the
talk ``--talk`` seconds, hangs up. The rate is ramped (``--rates``); each step lasts ``--step``
seconds of originating and then drains. A step is sustained when no call failed (refused
Originate, FAILED/congestion end, no AMD verdict, no bridge while an agent was free), AMD still
heard the person as HUMAN on 98 % of the calls (a starved AMD says NOTSURE/MACHINE), the
Originate action's own p95 stayed under 250 ms and the connect p95 under 500 ms; the figure is
the highest sustained rate. Connect latency = from the platform receiving the AMD verdict to
receiving the bridge (both on the loop clock), i.e. the platform's reaction + AMI Redirect +
ConfBridge join. Prints one JSON object.

    sudo .venv/bin/python bench/asterisk.py [--rates 8,16,32,48,64,80,96,128,160] [--step 6] [--agents 100]

The figure depends on what else the machine runs (2 vCPUs here: 16/s while e2e tests ran
beside it, 96/s on a quiet machine) and on how many agents sit in bridges (each ConfBridge
mixes every 20 ms: with 200 seated agents 64/s was no longer sustained); read the steps, not
only the maximum. ``no_free_agent`` counts people the agents could not take (not a failure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from asterisk_config import phones as sipp  # noqa: E402
from asterisk_config.render import ConfigParams  # noqa: E402
from asterisk_config.sandbox import Sandbox, missing_requirements  # noqa: E402
from recobro.domain.errors import DomainError  # noqa: E402
from recobro.domain.events import AmdVerdict, CallAmd, CallBridged, CallEnded, HangupCause  # noqa: E402
from recobro.domain.ids import CallId, new_call_id  # noqa: E402
from recobro.telephony.ami.adapter import AmiTelephony  # noqa: E402
from recobro.telephony.ami.client import AmiConfig  # noqa: E402
from recobro.telephony.clock import LoopClock  # noqa: E402
from recobro.telephony.port import OriginateRequest  # noqa: E402

_FAILED = {HangupCause.FAILED, HangupCause.CONGESTION, HangupCause.PBX_LOST, HangupCause.INVALID}


def _free_tcp() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_udp() -> int:
    return sipp.free_udp_port()


def _pct(values: Sequence[float], p: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0] * 1000, 2)
    return round(statistics.quantiles(sorted(values), n=100, method="inclusive")[p - 1] * 1000, 2)


@dataclass
class _Call:
    started: float
    amd_at: float | None = None
    verdict: str = ""
    bridged_at: float | None = None
    agent: str | None = None
    ended: HangupCause | None = None
    no_agent: bool = False
    connect_error: str = ""


@dataclass
class _Step:
    rate: float
    calls: dict[CallId, _Call] = field(default_factory=dict)
    originate_seconds: list[float] = field(default_factory=list)
    refused: int = 0


class Driver:
    """Follows the port's events: a person goes to a free agent, talks, is hung up."""

    def __init__(self, port: AmiTelephony, clock: LoopClock, agents: list[str], talk: float) -> None:
        self.port, self.clock, self.talk = port, clock, talk
        self.free = list(agents)
        self.step: _Step | None = None
        self.all: dict[CallId, _Call] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def follow(self) -> None:
        async for event in self.port.events():
            call = self.all.get(event.call_id)
            if call is None:
                continue
            if isinstance(event, CallAmd):
                call.amd_at, call.verdict = event.at, event.verdict.value
                if event.verdict == AmdVerdict.HUMAN and self.free:
                    call.agent = self.free.pop(0)
                    self.spawn(self._connect(event.call_id, call.agent))
                else:
                    call.no_agent = event.verdict == AmdVerdict.HUMAN
                    self.spawn(self._hangup(event.call_id))
            elif isinstance(event, CallBridged):
                call.bridged_at = event.at
                self.spawn(self._hangup(event.call_id, after=self.talk))
            elif isinstance(event, CallEnded):
                call.ended = event.cause
                if call.agent is not None:
                    self.free.append(call.agent)
                    call.agent = None

    async def _connect(self, call_id: CallId, agent: str) -> None:
        try:
            await self.port.connect_to_agent(call_id, agent)
        except DomainError as exc:
            self.all[call_id].connect_error = f"{exc.code}: {exc}"[:120]
            await self._hangup(call_id)

    async def _hangup(self, call_id: CallId, after: float = 0.0) -> None:
        if after:
            await asyncio.sleep(after)
        try:
            await self.port.hangup(call_id, reason="bench")
        except DomainError:
            pass

    async def originate(self, step: _Step, number: str) -> None:
        call_id = new_call_id()
        call = _Call(started=self.clock.now())
        step.calls[call_id] = self.all[call_id] = call
        t0 = time.perf_counter()
        try:
            await self.port.originate(OriginateRequest(call_id=call_id, number=number, ring_timeout=15.0))
        except DomainError:
            step.refused += 1
            call.ended = HangupCause.FAILED
        step.originate_seconds.append(time.perf_counter() - t0)

    async def run_step(self, rate: float, seconds: float, first_number: int) -> _Step:
        step = _Step(rate)
        start = self.clock.now()
        n = int(rate * seconds)
        for i in range(n):
            delay = start + i / rate - self.clock.now()
            if delay > 0:
                await asyncio.sleep(delay)
            self.spawn(self.originate(step, f"+52558{first_number + i:07d}"))
        deadline = self.clock.now() + self.talk + 20.0  # AMD (~1.5 s) + talk + ring margin
        while any(c.ended is None for c in step.calls.values()) and self.clock.now() < deadline:
            await asyncio.sleep(0.1)
        return step


def _summary(step: _Step) -> dict[str, Any]:
    calls = list(step.calls.values())
    latencies = [c.bridged_at - c.amd_at for c in calls if c.bridged_at is not None and c.amd_at is not None]
    failed = step.refused + sum(1 for c in calls if c.ended in _FAILED or c.ended is None)
    no_verdict = sum(1 for c in calls if c.amd_at is None and c.ended not in _FAILED)
    humans = sum(1 for c in calls if c.verdict == AmdVerdict.HUMAN.value)
    missed = sum(1 for c in calls if c.verdict == AmdVerdict.HUMAN.value and c.bridged_at is None and not c.no_agent)
    return {
        "rate_per_s": step.rate,
        "originated": len(calls),
        "failed": failed,
        "no_amd_verdict": no_verdict,
        "amd_human": humans,
        "amd_verdicts": dict(Counter(c.verdict or "none" for c in calls)),
        "bridged": len(latencies),
        "human_not_bridged": missed,
        "no_free_agent": sum(1 for c in calls if c.no_agent),
        "not_bridged_why": sorted({c.connect_error or f"ended {c.ended}" for c in calls
                                   if c.verdict == AmdVerdict.HUMAN.value and c.bridged_at is None and not c.no_agent}),
        "originate_action_ms": {"p50": _pct(step.originate_seconds, 50), "p95": _pct(step.originate_seconds, 95)},
        "connect_ms": {"p50": _pct(latencies, 50), "p95": _pct(latencies, 95), "p99": _pct(latencies, 99)},
    }


def _sustained(s: dict[str, Any]) -> bool:
    connect95 = s["connect_ms"]["p95"]
    originate95 = s["originate_action_ms"]["p95"]
    return (
        s["failed"] == 0 and s["no_amd_verdict"] == 0 and s["human_not_bridged"] == 0 and s["bridged"] > 0
        and s["amd_human"] >= 0.98 * s["originated"]  # a loaded AMD starts calling the person a machine
        and connect95 is not None and connect95 < 500 and originate95 is not None and originate95 < 250
    )


async def _bench(args: argparse.Namespace, params: ConfigParams, person: sipp.SippPhone,
                 agent_phone: sipp.SippPhone) -> dict[str, Any]:
    clock = LoopClock()
    config = AmiConfig(host=params.ami_bind, port=params.ami_port, user=params.ami_user, secret=params.ami_secret,
                       action_timeout=5.0, ping_interval=2.0)
    port = await AmiTelephony.open(config, clock, dial=lambda number: person.dial_string(number.lstrip("+")))
    agents = [str(5000 + i) for i in range(args.agents)]
    driver = Driver(port, clock, agents, args.talk)
    follower = asyncio.create_task(driver.follow())
    try:
        for agent in agents:
            await port.start_agent_session(agent, agent_phone.dial_string(agent, endpoint="agent-phones"))
        async with asyncio.timeout(30):
            for agent in agents:
                while not await port.agent_session_channels(agent):
                    await asyncio.sleep(0.05)
        steps: list[dict[str, Any]] = []
        number = 0
        for rate in args.rates:
            step = await driver.run_step(rate, args.step, number)
            number += len(step.calls)
            summary = _summary(step)
            summary["sustained"] = _sustained(summary)
            steps.append(summary)
            print(json.dumps(summary), file=sys.stderr)
            if not summary["sustained"]:
                break
        best = max((s for s in steps if s["sustained"]), key=lambda s: s["rate_per_s"], default=None)
        return {
            "bench": "asterisk_originate_and_connect",
            "asterisk": "sandbox (Debian sid chroot, Asterisk 22)",
            "cpus": os.cpu_count(),
            "agents": args.agents,
            "talk_seconds": args.talk,
            "step_seconds": args.step,
            "sustained_originations_per_s": best["rate_per_s"] if best else 0,
            "connect_ms_at_sustained": best["connect_ms"] if best else None,
            "steps": steps,
        }
    finally:
        follower.cancel()
        await port.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="8,16,32,48,64,80,96,128,160", help="origination rates to try, per second")
    parser.add_argument("--step", type=float, default=6.0, help="seconds of originating per rate")
    parser.add_argument("--agents", type=int, default=100, help="agent legs seated in their bridges")
    parser.add_argument("--talk", type=float, default=1.0, help="seconds a bridged person stays")
    args = parser.parse_args()
    args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    reason = missing_requirements() or sipp.missing_tools()
    if reason is not None:
        print(json.dumps({"bench": "asterisk_originate_and_connect", "skipped": reason}))
        return
    base = Path(os.environ.get("RECOBRO_ASTERISK_SANDBOX_DIR") or ROOT / "var" / "asterisk-sandbox")
    sandbox = Sandbox(base, f"bench-{os.getpid()}")
    sandbox.install()
    params = ConfigParams(ami_port=_free_tcp(), sip_bind="127.0.0.1", sip_port=_free_udp(), http_port=_free_tcp(),
                          agi_port=_free_tcp(), hold_seconds=20, callback_number="+1234", test_contexts=True)
    sandbox.start(params)
    try:
        with tempfile.TemporaryDirectory() as work, sipp.phones(
            ["person", "agent"], ROOT / "var" / "sipp-audio", Path(work), answer_delay_ms=200
        ) as (person, agent_phone):
            result = asyncio.run(_bench(args, params, person, agent_phone))
    finally:
        sandbox.stop()
        sandbox.output_file.unlink(missing_ok=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
