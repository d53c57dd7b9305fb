"""Whole IVR calls through the real FastAGI server, a fake Asterisk AGI peer and SQLite.

The peer speaks AGI over TCP as Asterisk does and plays a scripted debtor pressing keys; the
prompts are rendered by espeak-ng into a temporary cache; the rows are read back at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
from recobro.storage.models import (
    AccountRow,
    CallbackRow,
    CampaignAccountRow,
    CampaignRow,
    DispositionRow,
    IvrEventRow,
    PromiseRow,
    SmsOutboxRow,
)
from recobro.storage.repositories.ivr import IvrRepository
from tests.ivr_agi_peer import NOW, PHONE, FakeAsterisk, seed_ivr

AFTER_HOURS = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)  # 22:00 in Mexico City
_ZONE = ZoneInfo("America/Mexico_City")
AGENT_PHONE = AgentTarget("dial", "PJSIP/agent100")


@dataclass
class Rig:
    sessions: async_sessionmaker[AsyncSession]
    server: FastAgiServer
    app: IvrApp
    cache: PromptCache
    host: str
    port: int
    account_id: int
    campaign_id: int

    async def call(self, peer: FakeAsterisk, script: str, *, caller_id: str = "unknown") -> FakeAsterisk:
        await asyncio.wait_for(peer.run(self.host, self.port, script, caller_id=caller_id), 20)
        for _ in range(200):
            if self.server.active == 0:
                break
            await asyncio.sleep(0.01)
        return peer

    def outbound(self, **extra: str) -> str:
        q = {"call_id": "c0ffee0001", "account_id": str(self.account_id), "campaign_id": str(self.campaign_id)}
        q.update({"number": PHONE, **extra})
        return "outbound?" + "&".join(f"{k}={v}" for k, v in q.items())

    async def rows(self, model: type) -> list:  # type: ignore[type-arg]
        async with self.sessions() as s:
            return list((await s.execute(select(model).order_by(model.id))).scalars())  # type: ignore[attr-defined]

    async def count(self, model: type) -> int:
        async with self.sessions() as s:
            return int((await s.execute(select(func.count()).select_from(model))).scalar_one())

    def heard(self, peer: FakeAsterisk) -> str:
        """What the caller heard: the text of every file played (each must be a known prompt)."""
        texts = [self.cache.text_of(p) for p in peer.played]
        assert peer.played and None not in texts, peer.played
        return " ".join(t for t in texts if t)


def _need_espeak() -> None:
    if shutil.which("espeak-ng") is None:
        if os.environ.get("RECOBRO_REQUIRE_SERVICES") == "1":
            pytest.fail("espeak-ng is not installed (Debian package espeak-ng)")
        pytest.skip("espeak-ng is not installed (Debian package espeak-ng)")


@pytest.fixture(scope="module")
def prompts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prompts")  # shared: each sentence is rendered once per module


def _rig_factory(tmp_path: Path, prompts: Path):  # type: ignore[no-untyped-def]
    async def make(
        now: datetime = NOW, agent: AgentTarget | None = AGENT_PHONE, tts: EspeakEngine | None = None
    ) -> AsyncIterator[Rig]:
        _need_espeak()
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'ivr.sqlite3'}")
        await upgrade_engine(engine)
        sessions = make_sessionmaker(engine)
        account_id, campaign_id = await seed_ivr(sessions)
        cache = PromptCache(prompts, tts or EspeakEngine())
        await cache.prerender_fixed()
        services = IvrServices(
            store=SqlIvrStore(IvrRepository(sessions)),
            sms=OutboxSmsGateway(sessions, now=lambda: now),
            agents=StaticAgentDesk(agent, now=lambda: now.astimezone(_ZONE), wait_seconds=90),
            cache=cache,
            now=lambda: now,
            inter_digit=0.2,
        )
        app = IvrApp(services, IvrDefaults(company="Cobranza Uno", callback_number="+525511112222"))
        server = FastAgiServer(app.routes(), port=0)
        host, port = await server.start()
        try:
            yield Rig(sessions, server, app, cache, host, port, account_id, campaign_id)
        finally:
            await server.close()
            await engine.dispose()

    return make


@pytest.fixture
async def rig(tmp_path: Path, prompts_dir: Path) -> AsyncIterator[Rig]:
    async for r in _rig_factory(tmp_path, prompts_dir)():
        yield r


async def test_outbound_promise_with_partial_amount_and_date(rig: Rig) -> None:
    keys = ["1", "2", "1", "0", "5", "1", "2", "2", *"500*50#", "1"]
    peer = await rig.call(FakeAsterisk(keys=keys), rig.outbound())
    assert rig.app.outcomes == [Outcome.PROMISE_TO_PAY]
    [promise] = await rig.rows(PromiseRow)
    assert (promise.amount, promise.currency, promise.promised_for) == (Decimal("500.50"), "MXN", date(2026, 12, 5))
    assert (promise.source, promise.status, promise.call_id, promise.account_id) == (
        "ivr",
        "pending",
        "c0ffee0001",
        rig.account_id,
    )
    [disp] = await rig.rows(DispositionRow)
    assert (disp.code, disp.call_id, promise.disposition_id) == ("promise_to_pay", "c0ffee0001", disp.id)
    heard = rig.heard(peer)
    assert "mil doscientos treinta y cuatro pesos con cincuenta centavos" in heard
    assert "quinientos pesos con cincuenta centavos el cinco de diciembre" in heard
    events = await rig.rows(IvrEventRow)
    dtmf = [e.value for e in events if e.kind == "dtmf"]
    assert dtmf == [
        "identity:1",
        "menu:2",
        "date_mode:1",
        "date_entry:0512",
        "amount_mode:2",
        "amount_entry:500*50",
        "confirm:1",
    ]
    assert [e.value for e in events if e.kind == "outcome"] == ["promise_to_pay"]
    assert peer.hung_up_by_script


async def test_wrong_party_hears_no_amount_and_is_recorded(rig: Rig) -> None:
    peer = await rig.call(FakeAsterisk(keys=["P", "P", "2"]), rig.outbound())
    heard = rig.heard(peer)
    assert "María Pérez" in heard
    assert "pesos" not in heard and "saldo" not in heard and "noviembre" not in heard
    [disp] = await rig.rows(DispositionRow)
    assert (disp.code, disp.call_id) == ("wrong_party", "c0ffee0001")
    assert await rig.count(PromiseRow) == 0
    outcomes = [e.value for e in await rig.rows(IvrEventRow) if e.kind == "outcome"]
    assert outcomes == ["wrong_party"]


async def test_bad_partial_amount_twice_stores_no_promise(rig: Rig) -> None:
    keys = ["1", "2", "2", "1", "0", "#", "2", *"5000#", *"5000#"]
    peer = await rig.call(FakeAsterisk(keys=keys), rig.outbound())
    heard = rig.heard(peer)
    assert heard.count("El monto no puede ser mayor que su saldo") == 2
    assert rig.app.outcomes == [Outcome.INVALID_INPUT]
    assert await rig.count(PromiseRow) == 0 and await rig.count(DispositionRow) == 0


async def test_silence_at_identity_ends_politely(rig: Rig) -> None:
    peer = await rig.call(FakeAsterisk(keys=["T", "T"]), rig.outbound())
    assert rig.app.outcomes == [Outcome.NO_INPUT]
    assert "pesos" not in rig.heard(peer)


async def test_answering_machine_hears_the_limited_content_message(rig: Rig) -> None:
    peer = await rig.call(FakeAsterisk(keys=[]), rig.outbound(amd="MACHINE"))
    heard = rig.heard(peer)
    assert heard.startswith("Este es un mensaje de Cobranza Uno") and "cinco, cinco, uno, uno" in heard
    assert "María" not in heard and "pesos" not in heard
    assert rig.app.outcomes == [Outcome.VOICEMAIL_LEFT]


async def test_pay_link_goes_to_the_outbox(rig: Rig) -> None:
    await rig.call(FakeAsterisk(keys=["1", "1"]), rig.outbound())
    [sms] = await rig.rows(SmsOutboxRow)
    assert (sms.to_number, sms.status, sms.account_id) == (PHONE, "queued", rig.account_id)
    assert "A-1001" in sms.body and sms.body.startswith("Cobranza Uno")
    assert rig.app.outcomes == [Outcome.PAY_LINK_SENT]


async def test_agent_option_dials_the_agent_after_the_wait(rig: Rig) -> None:
    peer = await rig.call(FakeAsterisk(keys=["1", "3"]), rig.outbound())
    assert peer.dialed == ["PJSIP/agent100,30"]
    assert "El tiempo estimado de espera es de dos minutos" in rig.heard(peer)
    assert peer.variables["RECOBRO_ACCOUNT_ID"] == str(rig.account_id)
    assert rig.app.outcomes == [Outcome.AGENT]


async def test_caller_hanging_up_while_with_the_agent_is_an_agent_outcome(rig: Rig) -> None:
    peer = await rig.call(FakeAsterisk(keys=["1", "3"], hangup_in_dial=True), rig.outbound())
    assert peer.dialed == ["PJSIP/agent100,30"]
    assert peer.commands[-1] in ("GET VARIABLE DIALSTATUS", "HANGUP")
    assert rig.app.outcomes == [Outcome.AGENT]


async def test_agent_not_answering_books_a_callback(rig: Rig) -> None:
    peer = await rig.call(FakeAsterisk(keys=["1", "3"], dial_status="NOANSWER"), rig.outbound())
    assert "En este momento no hay asesores disponibles" in rig.heard(peer)
    [cb] = await rig.rows(CallbackRow)
    assert (cb.account_id, cb.campaign_id, cb.number) == (rig.account_id, rig.campaign_id, PHONE)
    assert rig.app.outcomes == [Outcome.CALLBACK_REQUESTED]


async def test_agent_in_a_conference_is_joined_only_when_present(tmp_path: Path, prompts_dir: Path) -> None:
    bridge = AgentTarget("confbridge", "recobro-agent-7", "recobro-agent-bridge,recobro-debtor")
    async for rig in _rig_factory(tmp_path, prompts_dir)(agent=bridge):
        present = FakeAsterisk(keys=["1", "3"], variables={"CONFBRIDGE_INFO(parties,recobro-agent-7)": "1"})
        await rig.call(present, rig.outbound())
        assert present.dialed == ["recobro-agent-7,recobro-agent-bridge,recobro-debtor"]
        assert rig.app.outcomes == [Outcome.AGENT]
        empty = FakeAsterisk(keys=["1", "3"], variables={"CONFBRIDGE_INFO(parties,recobro-agent-7)": "0"})
        await rig.call(empty, rig.outbound())
        assert empty.dialed == []
        assert rig.app.outcomes[-1] is Outcome.CALLBACK_REQUESTED


class _SlowNames(EspeakEngine):
    """espeak-ng, but a sentence with the debtor's name takes half a second more to render."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    async def render(self, text: str, voice: str, out: Path) -> None:
        if "María" in text:
            await asyncio.sleep(0.5)
        await super().render(text, voice, out)
        self.log.append(f"rendered:{text[:20]}")


class _LoggingPeer(FakeAsterisk):
    log: list[str] = []  # noqa: RUF012  # set per test

    def _reply(self, words, queue):  # type: ignore[no-untyped-def]
        if words[:2] == ["STREAM", "FILE"]:
            self.log.append("stream")
        return super()._reply(words, queue)


async def test_the_greeting_plays_while_the_sentence_with_the_name_renders(tmp_path: Path) -> None:
    log: list[str] = []
    async for rig in _rig_factory(tmp_path, tmp_path / "fresh-prompts")(tts=_SlowNames(log)):
        log.clear()
        peer = _LoggingPeer(keys=["P", "P", "2"])
        peer.log = log
        await rig.call(peer, rig.outbound())
        assert rig.app.outcomes == [Outcome.WRONG_PARTY]
    first_stream = log.index("stream")
    name_rendered = log.index("rendered:Si usted es María Pé")
    assert first_stream < name_rendered, log


async def test_caller_hanging_up_mid_promise_stores_no_promise(rig: Rig) -> None:
    peer = FakeAsterisk(keys=["1", "2", "1", *"0512", "1"], hangup_after_commands=12)
    await rig.call(peer, rig.outbound())
    assert rig.app.outcomes == [Outcome.HUNG_UP]
    assert await rig.count(PromiseRow) == 0
    outcomes = [e.value for e in await rig.rows(IvrEventRow) if e.kind == "outcome"]
    assert outcomes == ["hung_up"]


async def test_inbound_known_number_passes_pin_and_hears_balance(rig: Rig) -> None:
    peer = await rig.call(FakeAsterisk(keys=[*"482913#", "T", "T"]), "inbound", caller_id="5512345678")
    heard = rig.heard(peer)
    assert heard.startswith("Gracias por llamar a Cobranza Uno.")
    assert "Su saldo vencido es de mil doscientos treinta y cuatro pesos con cincuenta centavos" in heard
    events = await rig.rows(IvrEventRow)
    assert "482913" not in " ".join(e.value for e in events)
    assert ("dtmf", "credential:******") in [(e.kind, e.value) for e in events]
    assert ("identity", "verified") in [(e.kind, e.value) for e in events]


async def test_inbound_caller_gets_the_terms_of_the_accounts_campaign(rig: Rig) -> None:
    async with rig.sessions() as s, s.begin():
        s.add(CampaignAccountRow(campaign_id=rig.campaign_id, account_id=rig.account_id))
        campaign = await s.get(CampaignRow, rig.campaign_id)
        assert campaign is not None
        campaign.company_name = "Despacho Dos"
        campaign.promise_horizon_days = 5
    keys = [*"482913#", "2", "2", *"6#", "T", "T"]
    peer = await rig.call(FakeAsterisk(keys=keys), "inbound", caller_id="5512345678")
    heard = rig.heard(peer)
    assert heard.startswith("Gracias por llamar a Cobranza Uno.")  # before identification: the line's owner
    assert "Despacho Dos le llama como despacho de cobranza" in heard
    assert "La fecha de pago debe ser a más tardar el primero de diciembre" in heard  # 26 Nov + 5 days
    assert await rig.count(PromiseRow) == 0


async def test_inbound_unknown_number_three_failures(rig: Rig) -> None:
    keys = [*"999#", *"888#", *"777#"]
    peer = await rig.call(FakeAsterisk(keys=keys), "inbound", caller_id="5599999999")
    assert rig.app.outcomes == [Outcome.IDENTIFICATION_FAILED]
    heard = rig.heard(peer)
    assert heard.endswith("No pudimos verificar sus datos. Hasta luego.")
    assert "pesos" not in heard
    values = [e.value for e in await rig.rows(IvrEventRow)]
    assert "999" not in " ".join(values) and "account_entry:***" in values


async def test_inbound_account_number_then_wrong_id_digits(rig: Rig) -> None:
    async with rig.sessions() as s, s.begin():
        row = await s.get(AccountRow, rig.account_id)
        assert row is not None
        row.pin_hash = None
        row.external_ref = "1001"
    keys = [*"1001#", *"0000", *"0109", "T", "T"]
    peer = await rig.call(FakeAsterisk(keys=keys), "inbound", caller_id="5599999999")
    heard = rig.heard(peer)
    assert "últimos cuatro dígitos" in heard and "Los datos no coinciden." in heard
    assert "Su saldo vencido" in heard
    assert rig.app.outcomes == [Outcome.NO_INPUT]


async def test_inbound_after_hours_offers_a_callback(tmp_path: Path, prompts_dir: Path) -> None:
    async for rig in _rig_factory(tmp_path, prompts_dir)(now=AFTER_HOURS):
        peer = await rig.call(FakeAsterisk(keys=[*"482913#", "3", "1"]), "inbound", caller_id="5512345678")
        assert "Nuestros asesores no están disponibles" in rig.heard(peer)
        assert peer.dialed == []
        [cb] = await rig.rows(CallbackRow)
        assert cb.account_id == rig.account_id
        assert cb.due_at == datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 09:00 in Mexico City
        assert rig.app.outcomes == [Outcome.CALLBACK_REQUESTED]
