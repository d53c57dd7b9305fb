"""The IVR end to end: real Asterisk (sandbox), sipp debtor phones sending RFC 2833 DTMF, our
FastAGI server, prompts rendered by espeak-ng, and SQLite.

The module runs its own Asterisk instance whose dialplan points at this test's FastAGI port,
and renders prompts inside the chroot (Asterisk streams them by their chroot path). A debtor is
a sipp UAS that answers and then plays the captured DTMF packets of each key at set times
after the answer (a key cuts the prompt being played, as a person typing ahead does).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
import subprocess
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from asterisk_config import phones
from asterisk_config.render import ConfigParams
from asterisk_config.sandbox import Sandbox, SandboxError, missing_requirements
from ivr.agents import StaticAgentDesk
from ivr.app import IvrApp, IvrDefaults
from ivr.flows.model import Outcome
from ivr.flows.runner import IvrServices
from ivr.ports import AgentTarget
from ivr.prompts.cache import PromptCache
from ivr.prompts.tts import EspeakEngine
from ivr.server import FastAgiServer
from ivr.sms import OutboxSmsGateway
from ivr.store import SqlIvrStore
from recobro.storage.db import make_engine, make_sessionmaker
from recobro.storage.migrate import upgrade_engine
from recobro.storage.models import DispositionRow, IvrEventRow, PromiseRow, SmsOutboxRow
from recobro.storage.repositories.ivr import IvrRepository
from tests.e2e.ami_probe import AmiProbe
from tests.e2e.conftest import REPO, asterisk_unavailable, free_udp_port, sandbox_base
from tests.ivr_agi_peer import NOW, seed_ivr
from tests.services import free_port

pytestmark = pytest.mark.asterisk

DTMF_DIR = Path("/usr/share/sip-tester")
DTMF_FILES = {
    **{str(d): f"dtmf_2833_{d}.pcap" for d in range(10)},
    "*": "dtmf_2833_star.pcap",
    "#": "dtmf_2833_pound.pcap",
}
AGENT_ID = "200"
CALL_ID = "c0ffee0001"
ZONE = ZoneInfo("America/Mexico_City")

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="recobro ivr debtor">
  <recv request="INVITE" crlf="true"/>
  <send retrans="500">
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=recobro 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=sendrecv

    ]]>
  </send>
  <recv request="ACK" rtd="true" crlf="true"/>
"""
_TAIL = """  <recv request="BYE"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
</scenario>
"""


def renumbered_capture(key: str, press: int, out_dir: Path) -> Path:
    """sipp's capture of ``key`` with its RTP sequence numbers and timestamps moved forward.

    Every capture starts at the same sequence number and timestamp, so Asterisk takes a second
    press (of any key) for a retransmission of the first and drops it. Press ``n`` is moved
    ``n`` × 100 packets and ``n`` × 10 s of RTP time on; the UDP checksum is cleared (optional
    in IPv4) since the payload changed.
    """
    data = bytearray((DTMF_DIR / DTMF_FILES[key]).read_bytes())
    (link,) = struct.unpack("<I", data[20:24])
    l2 = 14 if link == 1 else 16
    offset = 24
    while offset < len(data):
        incl = struct.unpack("<I", data[offset + 8 : offset + 12])[0]
        ip = offset + 16 + l2
        udp = ip + (data[ip] & 0x0F) * 4
        rtp = udp + 8
        seq, ts = struct.unpack("!HI", data[rtp + 2 : rtp + 8])
        struct.pack_into("!HI", data, rtp + 2, (seq + 100 * press) % 65536, (ts + 80_000 * press) % 2**32)
        struct.pack_into("!H", data, udp + 6, 0)
        offset += 16 + incl
    target = out_dir / f"press-{press:03d}-{DTMF_FILES[key]}"
    target.write_bytes(bytes(data))
    return target


def debtor_scenario(keys: Sequence[tuple[float, str]], out_dir: Path) -> str:
    """A UAS that answers, presses each key at its time (seconds after the answer), awaits BYE."""
    body, now = [], 0.0
    for press, (at, key) in enumerate(keys, start=1):
        wait_ms = round((at - now) * 1000)
        if wait_ms > 0:
            body.append(f'  <pause milliseconds="{wait_ms}"/>')
        capture = renumbered_capture(key, press, out_dir)
        body.append(f'  <nop><action><exec play_pcap_audio="{capture}"/></action></nop>')
        now = max(now, at)
    return _HEAD + "\n".join(body) + "\n" + _TAIL


def typed(start: float, digits: str, gap: float = 0.6) -> list[tuple[float, str]]:
    return [(start + i * gap, d) for i, d in enumerate(digits)]


@dataclass
class Debtor:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def dial_string(self, user: str = "5512345678") -> str:
        return f"PJSIP/carrier/sip:{user}@127.0.0.1:{self.port}"

    def wait(self, timeout: float = 90.0) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


def start_debtor(work: Path, keys: Sequence[tuple[float, str]]) -> Debtor:
    """One sipp UAS for one call (``-m 1``: it exits when that call is over)."""
    work.mkdir(parents=True, exist_ok=True)
    scenario = work / "debtor.xml"
    scenario.write_text(debtor_scenario(keys, work), encoding="utf-8")
    port, media = free_udp_port(), free_udp_port()
    log = work / "debtor.log"
    cmd = [
        "sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", str(port), "-mp", str(media),
        "-m", "1", "-nostdin", "-trace_err", "-error_file", str(log),
    ]  # fmt: skip
    with (work / "debtor.out").open("wb") as out:
        process = subprocess.Popen(cmd, cwd=work, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    return Debtor(port, process, log)


@dataclass
class IvrPbx:
    sandbox: Sandbox
    params: ConfigParams
    agi_port: int
    prompts: Path  # on the host
    pbx_prompts: str  # the same directory inside the chroot

    def ami(self) -> AmiProbe:
        return AmiProbe(self.params.ami_bind, self.params.ami_port, self.params.ami_user, self.params.ami_secret)


@pytest.fixture(scope="module")
def ivr_pbx() -> Iterator[IvrPbx]:
    if os.geteuid() != 0:
        pytest.skip("Asterisk en chroot necesita root / the Asterisk sandbox needs root")
    reason = missing_requirements() or phones.missing_tools()
    if reason is not None:
        asterisk_unavailable(reason)
    if not (DTMF_DIR / DTMF_FILES["#"]).is_file():
        asterisk_unavailable(f"sipp's RFC 2833 captures are missing from {DTMF_DIR} (Debian sip-tester)")
    sandbox = Sandbox(sandbox_base(), f"ivr-{os.getpid()}")
    try:
        sandbox.install()
    except SandboxError as exc:
        asterisk_unavailable(f"No se pudo instalar Asterisk / could not install Asterisk: {exc}")
    agi_port = free_port()
    params = ConfigParams(
        ami_port=free_port(),
        sip_bind="127.0.0.1",
        sip_port=free_udp_port(),
        http_port=free_port(),
        agi_port=agi_port,
        company_name="Cobranza Uno",
        test_contexts=True,
    )
    pbx_prompts = f"/tmp/recobro-ivr-prompts-{os.getpid()}"
    prompts = sandbox.root / pbx_prompts.lstrip("/")
    try:
        sandbox.start(params)
    except SandboxError as exc:
        pytest.fail(f"Asterisk did not start: {exc}")
    try:
        yield IvrPbx(sandbox, params, agi_port, prompts, pbx_prompts)
    finally:
        sandbox.stop()
        sandbox.output_file.unlink(missing_ok=True)
        shutil.rmtree(prompts, ignore_errors=True)


@dataclass
class Rig:
    pbx: IvrPbx
    app: IvrApp
    sessions: object
    account_id: int
    campaign_id: int

    async def outcome(self, timeout: float = 90.0) -> Outcome:
        for _ in range(int(timeout * 10)):
            if self.app.outcomes:
                return self.app.outcomes[-1]
            await asyncio.sleep(0.1)
        raise AssertionError(f"no IVR outcome in {timeout} s")

    async def events(self) -> list[tuple[str, str]]:
        async with self.sessions() as s:  # type: ignore[operator]
            rows = (await s.execute(select(IvrEventRow).order_by(IvrEventRow.id))).scalars()
            return [(r.kind, r.value) for r in rows]

    async def rows(self, model: type) -> list:  # type: ignore[type-arg]
        async with self.sessions() as s:  # type: ignore[operator]
            return list((await s.execute(select(model))).scalars())

    async def originate(self, ami: AmiProbe, fields: dict[str, str | list[str]]) -> None:
        reply = await asyncio.to_thread(ami.action, {"Action": "Originate", "Async": "true", **fields})
        assert reply.get("Response") == "Success", reply

    async def originate_outbound(self, ami: AmiProbe, debtor: Debtor | phones.SippPhone, *, amd: bool = False) -> None:
        """Into recobro-ivr as a campaign in mode ivr does. The DTMF debtors below send RFC 2833
        packets and no voice: AMD would hear 2.5 s of initial silence and call them machines, so
        they are dialed with RECOBRO_AMD=0; ``amd=True`` lets the dialplan's AMD decide."""
        variables = [
            f"RECOBRO_AMD={1 if amd else 0}",
            "RECOBRO_IVR_FLOW=outbound",
            f"RECOBRO_CALL_ID={CALL_ID}",
            f"RECOBRO_ACCOUNT_ID={self.account_id}",
            f"RECOBRO_CAMPAIGN_ID={self.campaign_id}",
            "RECOBRO_NUMBER=+525512345678",
        ]
        fields: dict[str, str | list[str]] = {
            "Channel": debtor.dial_string("5512345678"),
            "Context": "recobro-ivr",
            "Exten": "s",
            "Priority": "1",
            "Timeout": "15000",
            "Variable": variables,
        }
        await self.originate(ami, fields)


@pytest.fixture
async def rig(ivr_pbx: IvrPbx, tmp_path: Path) -> AsyncIterator[Rig]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'ivr.sqlite3'}")
    await upgrade_engine(engine)
    sessions = make_sessionmaker(engine)
    account_id, campaign_id = await seed_ivr(sessions)
    cache = PromptCache(ivr_pbx.prompts, EspeakEngine(), pbx_directory=ivr_pbx.pbx_prompts)
    await cache.prerender_fixed()
    desk = StaticAgentDesk(
        AgentTarget("confbridge", f"recobro-agent-{AGENT_ID}", "recobro-agent-bridge,recobro-debtor"),
        now=lambda: NOW.astimezone(ZONE),
        wait_seconds=60,
    )
    services = IvrServices(
        store=SqlIvrStore(IvrRepository(sessions)),
        sms=OutboxSmsGateway(sessions, now=lambda: NOW),
        agents=desk,
        cache=cache,
        now=lambda: NOW,
    )
    app = IvrApp(services, IvrDefaults(company="Cobranza Uno", callback_number="+525511112222"))
    server = FastAgiServer(app.routes(), host="127.0.0.1", port=ivr_pbx.agi_port)
    await server.start()
    try:
        yield Rig(ivr_pbx, app, sessions, account_id, campaign_id)
    finally:
        await server.close(grace=2)
        await engine.dispose()


async def test_ivr_outbound_promise_by_dtmf_is_stored(rig: Rig, tmp_path: Path) -> None:
    keys = [
        (3.0, "1"),  # identity: I am María Pérez
        (6.0, "2"),  # menu: promise
        (9.0, "1"),  # by day and month
        *typed(12.0, "0512"),  # 5 December
        (17.0, "2"),  # a partial amount
        *typed(20.0, "500*50#"),
        (27.0, "1"),  # confirm
    ]
    debtor = start_debtor(tmp_path / "sipp", keys)
    try:
        with rig.pbx.ami() as ami:
            await rig.originate_outbound(ami, debtor)
            assert await rig.outcome() is Outcome.PROMISE_TO_PAY, "\n".join(map(str, await rig.events()))
        assert await asyncio.to_thread(debtor.wait, 30) == 0
    finally:
        debtor.stop()
    [promise] = await rig.rows(PromiseRow)
    assert (promise.amount, promise.promised_for, promise.source) == (Decimal("500.50"), date(2026, 12, 5), "ivr")
    dtmf = [v for k, v in await rig.events() if k == "dtmf"]
    assert dtmf == ["identity:1", "menu:2", "date_mode:1", "date_entry:0512", "amount_mode:2", "amount_entry:500*50",
                    "confirm:1"]  # fmt: skip


async def test_ivr_outbound_wrong_party_hears_no_amount(rig: Rig, tmp_path: Path) -> None:
    debtor = start_debtor(tmp_path / "sipp", [(3.0, "2")])
    try:
        with rig.pbx.ami() as ami:
            await rig.originate_outbound(ami, debtor)
            assert await rig.outcome() is Outcome.WRONG_PARTY
        assert await asyncio.to_thread(debtor.wait, 30) == 0
    finally:
        debtor.stop()
    played = [v for k, v in await rig.events() if k == "prompt"]
    assert played == ["greeting", "identity_question", "wrong_party_bye"]
    [disp] = await rig.rows(DispositionRow)
    assert (disp.code, disp.call_id) == ("wrong_party", CALL_ID)


async def test_ivr_outbound_agent_option_reaches_the_agents_phone(rig: Rig, tmp_path: Path) -> None:
    audio = phones.make_audio(REPO / "var" / "sipp-audio")
    agent = phones.start_phone("agent", audio, tmp_path / "agent")
    debtor = start_debtor(tmp_path / "sipp", [(3.0, "1"), (6.0, "3")])
    rig.pbx.sandbox.rx("core set verbose 5")
    rig.pbx.sandbox.rx("agi set debug on")
    try:
        with rig.pbx.ami() as ami:
            await rig.originate(
                ami,
                {
                    "Channel": agent.dial_string(AGENT_ID),
                    "Context": "recobro-agent",
                    "Exten": AGENT_ID,
                    "Priority": "1",
                },
            )
            conference = f"recobro-agent-{AGENT_ID}"
            agent_join = await asyncio.to_thread(
                ami.wait, lambda m: m.get("Event") == "ConfbridgeJoin" and m.get("Conference") == conference, 15
            )
            start = len(ami.messages)
            await rig.originate_outbound(ami, debtor)
            joined = await asyncio.to_thread(
                ami.wait,
                lambda m: (
                    m.get("Event") == "ConfbridgeJoin"
                    and m.get("Conference") == conference
                    and m.get("Channel") != agent_join["Channel"]
                ),
                30,
                start,
            )
            await asyncio.to_thread(ami.action, {"Action": "Hangup", "Channel": joined["Channel"]})
            outcome = await rig.outcome()
            # Which legs joined and left the agent's bridge, and what the IVR did, if this ever fails.
            legs = [(m.get("Event"), m.get("Channel"), m.get("Conference"), m.get("Cause")) for m in ami.messages
                    if m.get("Event") in ("ConfbridgeJoin", "ConfbridgeLeave", "Hangup")]
            assert outcome is Outcome.AGENT, (legs, await rig.events(), rig.pbx.sandbox.output_tail(80))
    finally:
        debtor.stop()
        agent.stop()
    played = [v for k, v in await rig.events() if k == "prompt"]
    assert played[-1] == "agent_wait"


async def test_ivr_outbound_amd_runs_first_a_machine_hears_only_the_limited_message(
    rig: Rig, tmp_path: Path
) -> None:
    """AMD in recobro-ivr before the AGI: the script reads AMDSTATUS. The AMD-checked sipp phones:
    a voicemail greeting (MACHINE) gets company and callback number only; a person saying
    "¿Bueno?" (HUMAN) gets the greeting and the identity question."""
    audio = phones.make_audio(REPO / "var" / "sipp-audio")
    machine = phones.start_phone("machine", audio, tmp_path / "machine", answer_delay_ms=200)
    person = phones.start_phone("person", audio, tmp_path / "person", answer_delay_ms=200)
    try:
        with rig.pbx.ami() as ami:
            await rig.originate_outbound(ami, machine, amd=True)
            assert await rig.outcome() is Outcome.VOICEMAIL_LEFT, await rig.events()
            verdict = await asyncio.to_thread(
                ami.wait, lambda m: m.get("Event") == "UserEvent" and m.get("UserEvent") == "RecobroAmd", 10
            )
            assert (verdict.get("Status"), verdict.get("CallId")) == ("MACHINE", CALL_ID)
            assert [v for k, v in await rig.events() if k == "prompt"] == ["voicemail"]
            start = len(ami.messages)
            await rig.originate_outbound(ami, person, amd=True)
            verdict = await asyncio.to_thread(
                ami.wait, lambda m: m.get("Event") == "UserEvent" and m.get("UserEvent") == "RecobroAmd", 15, start
            )
            assert verdict.get("Status") == "HUMAN", verdict
            for _ in range(900):  # the person never presses: retry, then goodbye
                if len(rig.app.outcomes) == 2:
                    break
                await asyncio.sleep(0.1)
    finally:
        machine.stop()
        person.stop()
    prompts = [v for k, v in await rig.events() if k == "prompt"]
    assert prompts[1:3] == ["greeting", "identity_question"]
    assert rig.app.outcomes == [Outcome.VOICEMAIL_LEFT, Outcome.NO_INPUT]


async def test_ivr_inbound_known_number_passes_pin_and_hears_balance(rig: Rig, tmp_path: Path) -> None:
    keys = [*typed(5.0, "482913#"), (27.0, "1")]  # PIN; in the menu after the balance: the pay link
    debtor = start_debtor(tmp_path / "sipp", keys)
    try:
        with rig.pbx.ami() as ami:
            fields: dict[str, str | list[str]] = {
                "Channel": debtor.dial_string(),
                "Context": "recobro-inbound",
                "Exten": "5555555555",
                "Priority": "1",
                "CallerID": "<5512345678>",
                "Timeout": "15000",
            }
            await rig.originate(ami, fields)
            assert await rig.outcome() is Outcome.PAY_LINK_SENT, await rig.events()
        assert await asyncio.to_thread(debtor.wait, 30) == 0
    finally:
        debtor.stop()
    events = await rig.events()
    assert ("identity", "caller_known") in events and ("identity", "verified") in events
    assert ("dtmf", "credential:******") in events and "482913" not in str(events)
    assert ("prompt", "balance") in events
    [sms] = await rig.rows(SmsOutboxRow)
    assert sms.to_number == "+525512345678"
