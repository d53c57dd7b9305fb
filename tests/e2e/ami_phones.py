"""sipp phones for the AMI tests, and the TelephonyPort contract harness on the real Asterisk.

Phones (tests/fixtures/ami/sipp): a person (answers, says "¿Bueno?" then silence: AMD HUMAN), a
machine (answers with a 13 s voicemail greeting: AMD MACHINE), busy (486), a number that does
not exist (404), one that rings until cancelled, and an agent's softphone (answers, no audio).
The audio is made at session start with espeak-ng and sox as ARCHITECTURE.md describes (8 kHz
u-law, real silence after the speech). Each phone is one sipp process on its own loopback port,
reached through the carrier endpoint as ``PJSIP/carrier/sip:<user>@127.0.0.1:<port>``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from recobro.domain.ids import CallId
from recobro.telephony.ami.adapter import AmiTelephony
from recobro.telephony.ami.client import AmiConfig
from recobro.telephony.clock import LoopClock
from recobro.telephony.port import OriginateRequest, TelephonyPort
from tests.e2e.conftest import RunningAsterisk, asterisk_unavailable

SIPP = Path(__file__).resolve().parents[1] / "fixtures" / "ami" / "sipp"
PERSON_SAYS = "¿Bueno?"
MACHINE_SAYS = (
    "Hola, has llamado al buzón de voz de Juan Pérez. En este momento no puedo atenderte. Por favor deja "
    "tu nombre, tu número y un mensaje breve después del tono, y te devolveré la llamada lo antes posible. Gracias."
)
AGENT = "1001"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Phone:
    kind: str
    port: int
    proc: subprocess.Popen[bytes]

    def dial(self, user: str = "100") -> str:
        return f"PJSIP/carrier/sip:{user}@127.0.0.1:{self.port}"


def _speech(text: str, pad_before: float, pad_after: float, out: Path) -> Path:
    wav = out.with_suffix(".wav")
    subprocess.run(["espeak-ng", "-v", "es-419", "-w", str(wav), text], check=True, capture_output=True)
    subprocess.run(
        ["sox", str(wav), "-r", "8000", "-c", "1", "-t", "ul", str(out), "pad", str(pad_before), str(pad_after)],
        check=True,
        capture_output=True,
    )
    return out


def _scenarios(workdir: Path) -> dict[str, Path]:
    """Scenario file of each phone kind; the audio phones get their file's path written in."""
    audio = {
        "person": _speech(PERSON_SAYS, 0.3, 6.0, workdir / "person.ulaw"),
        "machine": _speech(MACHINE_SAYS, 0.2, 4.0, workdir / "machine.ulaw"),
    }
    template = (SIPP / "audio.xml.in").read_text(encoding="utf-8")
    files = {
        kind: SIPP / f"{name}.xml"
        for kind, name in (
            ("answer", "answer"),
            ("agent", "answer"),
            ("busy", "busy"),
            ("invalid", "invalid"),
            ("ring", "ring"),
        )
    }
    for kind, path in audio.items():
        scenario = workdir / f"{kind}.xml"
        scenario.write_text(template.replace("AUDIO_FILE", str(path)), encoding="utf-8")
        files[kind] = scenario
    return files


@pytest.fixture(scope="session")
def asterisk_phones(asterisk: RunningAsterisk, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Phone]]:
    for tool in ("sipp", "espeak-ng", "sox"):
        if shutil.which(tool) is None:
            asterisk_unavailable(f"Falta {tool} / {tool} is not installed")
    files = _scenarios(tmp_path_factory.mktemp("phones"))
    started: dict[str, Phone] = {}
    try:
        for kind, scenario in files.items():
            port = free_udp_port()
            cmd = ["sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1", "-nostdin"]
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started[kind] = Phone(kind, port, proc)
        time.sleep(0.3)
        for phone in started.values():
            assert phone.proc.poll() is None, f"sipp {phone.kind} exited: {phone.proc.returncode}"
        yield started
    finally:
        for phone in started.values():
            phone.proc.terminate()
            try:
                phone.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                phone.proc.kill()


def ami_config(asterisk: RunningAsterisk) -> AmiConfig:
    host, port = asterisk.ami_address
    p = asterisk.params
    return AmiConfig(
        host=host,
        port=port,
        user=p.ami_user,
        secret=p.ami_secret,
        action_timeout=5.0,
        ping_interval=1.0,
        backoff_initial=0.2,
        backoff_max=1.0,
    )


class _QuickPort(AmiTelephony):
    """The contract suite waits 3 s for any event; its calls ring 10 s and real phones ring in
    real time, so this harness lets them ring 2 s (the cause, NO_ANSWER, is the same). Likewise
    every abandon message is ``silence/1`` (the suite's "recobro-abandon" is not a stock sound,
    and the dialplan's fallback reads the callback number for 4 s)."""

    async def originate(self, request: OriginateRequest) -> None:
        await super().originate(dataclasses.replace(request, ring_timeout=min(request.ring_timeout, 2.0)))

    async def play_and_hangup(self, call_id: CallId, message: str) -> None:
        await super().play_and_hangup(call_id, "silence/1")


# Contract outcomes -> phones; "mixed" cycles through the five kinds by index.
_OUTCOME_PHONE = {"human": "person", "machine": "machine", "busy": "busy", "invalid": "invalid", "no_answer": "ring"}
_MIX = ("person", "machine", "busy", "invalid", "ring")
_OUTCOMES = ("human", "machine", "busy", "invalid", "no_answer", "mixed")


class AsteriskHarness:
    """The contract suite on the sandbox's Asterisk: numbers route to sipp phones, agent 1001 sits
    in their ConfBridge (a sipp softphone) for the whole session."""

    agent = AGENT
    fixtures = ("asterisk", "asterisk_phones")
    marks = (pytest.mark.asterisk,)

    def __init__(self, asterisk: RunningAsterisk, phones: dict[str, Phone]) -> None:
        self.asterisk = asterisk
        self.phones = phones

    def number(self, outcome: str, index: int = 0) -> str:
        return f"+5255{_OUTCOMES.index(outcome)}{index:07d}"

    def _dial(self, e164: str) -> str:
        outcome = _OUTCOMES[int(e164[5])]
        index = int(e164[6:])
        kind = _MIX[index % len(_MIX)] if outcome == "mixed" else _OUTCOME_PHONE[outcome]
        return self.phones[kind].dial()

    @asynccontextmanager
    async def open(self, outcome: str) -> AsyncIterator[TelephonyPort]:
        port = await _QuickPort.open(ami_config(self.asterisk), LoopClock(), dial=self._dial)
        try:
            await self._agent_ready(port)
            yield port
        finally:
            await port.close()

    async def _agent_ready(self, port: AmiTelephony) -> None:
        bridge = f"recobro-agent-{AGENT}"
        if bridge in await asyncio.to_thread(self.asterisk.rx, "confbridge list"):
            return
        await port.start_agent_session(AGENT, self.phones["agent"].dial(AGENT))
        async with asyncio.timeout(10):
            while bridge not in await asyncio.to_thread(self.asterisk.rx, "confbridge list"):
                await asyncio.sleep(0.1)


__all__ = ["AGENT", "AsteriskHarness", "CallId", "Phone", "ami_config", "asterisk_phones", "free_udp_port"]
