"""AmiTelephony against a fake Asterisk (tests/ami_fake.py): the whole TelephonyPort contract, then
what only the AMI adapter promises — the Originate it writes, no double dial across a reconnect,
PortDown/PortUp, and reconciliation so that no call is forgotten or ended twice.

The contract suite (tests/contract/test_telephony_port.py) is imported whole and run here with
a harness that puts the adapter in front of the fake Asterisk; the same suite runs against the
real Asterisk in the contract file once the sandbox is available.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from recobro.domain.errors import Conflict, ValidationError
from recobro.domain.events import (
    CallAnswered,
    CallDialing,
    CallEnded,
    CallEvent,
    CallRinging,
    HangupCause,
    PortDown,
    PortUp,
)
from recobro.domain.ids import CallId, new_call_id
from recobro.telephony.ami.adapter import AmiTelephony
from recobro.telephony.ami.client import AmiConfig, AmiError
from recobro.telephony.ami.codec import Message
from recobro.telephony.clock import LoopClock
from recobro.telephony.port import OriginateRequest, TelephonyPort
from tests.ami_fake import Conn, FakeAmi, FakeAsterisk
from tests.contract import test_telephony_port as contract
from tests.contract.test_telephony_port import *  # noqa: F403  # the contract's tests, run on this harness

OUTCOMES = contract.OUTCOMES
MIX = ("human", "machine", "busy", "invalid", "no_answer")


def behaviour_of(digits: str) -> str:
    outcome = OUTCOMES[int(digits[4])]
    return MIX[int(digits[5:]) % len(MIX)] if outcome == "mixed" else outcome


def ami_config(ami: FakeAmi) -> AmiConfig:
    return AmiConfig(
        port=ami.port,
        secret="s3cret",
        action_timeout=0.5,
        connect_timeout=0.5,
        ping_interval=0.3,
        backoff_initial=0.05,
        backoff_max=0.2,
    )


class FakeAmiHarness:
    """The AMI adapter in front of the fake Asterisk, 20 times faster than real time."""

    agent = "1001"

    def number(self, outcome: str, index: int = 0) -> str:
        return f"+5255{OUTCOMES.index(outcome)}{index:07d}"

    @asynccontextmanager
    async def open(self, outcome: str) -> AsyncIterator[TelephonyPort]:
        async with FakeAmi() as ami:
            FakeAsterisk(ami, behaviour_of, speed=20)
            port = await AmiTelephony.open(ami_config(ami), LoopClock())
            try:
                yield port
            finally:
                await port.close()


@pytest.fixture
def harness() -> contract.Harness:
    return FakeAmiHarness()


# --- what only the AMI adapter promises --------------------------------------------------


@asynccontextmanager
async def adapter(**speed: float) -> AsyncIterator[tuple[FakeAmi, FakeAsterisk, AmiTelephony]]:
    async with FakeAmi() as ami:
        pbx = FakeAsterisk(ami, behaviour_of, speed=speed.get("speed", 20))
        port = await AmiTelephony.open(ami_config(ami), LoopClock())
        try:
            yield ami, pbx, port
        finally:
            await port.close()


def request(outcome: str, index: int = 0, **extra: object) -> OriginateRequest:
    return OriginateRequest(
        call_id=new_call_id(),
        number=FakeAmiHarness().number(outcome, index),
        ring_timeout=10.0,
        **extra,  # type: ignore[arg-type]
    )


async def next_of(stream: AsyncIterator[CallEvent], kind: type, call_id: CallId | None = None) -> CallEvent:
    async with asyncio.timeout(3):
        while True:
            event = await anext(stream)
            if isinstance(event, kind) and (call_id is None or event.call_id == call_id):
                return event


async def test_the_originate_carries_the_call_id_the_dialplan_and_no_machine_decision() -> None:
    async with adapter() as (ami, _, port):
        req = request("human", caller_id="+525555555555", variables={"CAMPAIGN": "7", "NOMBRE": "José Núñez"})
        await port.originate(req)
        sent = ami.named("Originate")[0]
        assert sent["Channel"] == f"PJSIP/{req.number[1:]}@carrier"
        assert (sent["Context"], sent["Exten"], sent["Priority"]) == ("recobro-outbound", "s", "1")
        assert (sent["Async"], sent["Timeout"], sent["CallerID"]) == ("true", "10000", "+525555555555")
        assert sent["ChannelId"] == f"recobro-{req.call_id}"
        assert sent.get_all("Variable") == [
            f"RECOBRO_CALL_ID={req.call_id}",
            "RECOBRO_AMD=1",
            "RECOBRO_ON_MACHINE=hold",
            "CAMPAIGN=7",
            "NOMBRE=José Núñez",
            "RECOBRO_MESSAGE=abandon-7",  # what the dialplan's own way to the abandon message plays
        ]


async def test_a_debtor_name_with_crlf_never_reaches_asterisk() -> None:
    async with adapter() as (ami, _, port):
        with pytest.raises(ValidationError):
            await port.originate(request("human", variables={"NOMBRE": "x\r\nAction: Hangup"}))
        with pytest.raises(ValidationError):
            await port.originate(request("human", caller_id="x\r\nAction: Hangup"))
        with pytest.raises(ValidationError) as err:
            await port.play_and_hangup(new_call_id(), "../../etc/passwd")
        assert err.value.field == "message"
        assert not ami.named("Originate") and not ami.named("Hangup")


async def test_an_originate_asterisk_refuses_raises_and_is_forgotten() -> None:
    async with adapter() as (ami, _, port):
        ami.handlers["originate"] = lambda conn, a: conn.reply(a, "Message: Originate failed", status="Error")
        req = request("human")
        with pytest.raises(AmiError, match="Originate failed"):
            await port.originate(req)
        await port.hangup(req.call_id)  # unknown now: a no-op
        assert not ami.named("Hangup")


async def test_a_hangup_asked_before_the_channel_exists_is_sent_when_it_appears() -> None:
    async with adapter() as (ami, _, port):
        held: list[tuple[Conn, Message]] = []
        real = ami.handlers["originate"]

        def late(conn: Conn, a: Message) -> None:
            held.append((conn, a))
            conn.reply(a, "Message: Originate successfully queued")

        ami.handlers["originate"] = late
        stream = aiter(port.events())
        req = request("no_answer")
        await port.originate(req)
        await port.hangup(req.call_id, reason="campaign stopped")
        assert not ami.named("Hangup")
        ami.handlers["originate"] = real
        real(*held[0])  # now Asterisk creates the channel (and answers "queued" a second time: ignored)
        end = await next_of(stream, CallEnded, req.call_id)
        assert isinstance(end, CallEnded) and end.cause is HangupCause.CANCELLED
        assert len(ami.named("Hangup")) == 1 and len(ami.named("Originate")) == 1


async def test_a_drop_during_the_originate_never_dials_twice_and_the_call_is_followed() -> None:
    async with adapter() as (ami, pbx, port):
        stream = aiter(port.events())
        real = ami.handlers["originate"]

        def then_drop(conn: Conn, a: Message) -> None:
            real(conn, a)  # Asterisk took it and is dialing...
            conn.close()  # ...but the response is lost with the link

        ami.handlers["originate"] = then_drop
        req = request("human")
        await port.originate(req)  # no exception: the fate is unknown, not a failure
        seen: list[CallEvent] = []
        async with asyncio.timeout(3):
            while not (any(isinstance(e, CallAnswered) for e in seen) and any(isinstance(e, PortUp) for e in seen)):
                seen.append(await anext(stream))
        assert [type(e) for e in seen if e.call_id == ""] == [PortDown, PortUp]
        mine = [type(e) for e in seen if e.call_id == req.call_id]
        assert mine[0] is CallDialing and mine[-1] is CallAnswered and mine.count(CallDialing) == 1
        assert len(ami.named("Originate")) == 1
        await port.hangup(req.call_id)
        end = await next_of(stream, CallEnded, req.call_id)
        assert isinstance(end, CallEnded) and end.cause is HangupCause.NORMAL
        assert pbx.live == {}


async def test_an_originate_lost_before_asterisk_took_it_ends_failed_once() -> None:
    async with adapter() as (ami, _, port):
        stream = aiter(port.events())
        ami.handlers["originate"] = lambda conn, a: conn.close()
        req = request("human")
        await port.originate(req)
        seen: list[CallEvent] = []
        async with asyncio.timeout(3):
            while not any(isinstance(e, PortUp) for e in seen):
                seen.append(await anext(stream))
        mine = [e for e in seen if e.call_id == req.call_id]
        assert [type(e) for e in mine] == [CallDialing, CallEnded]
        assert isinstance(mine[-1], CallEnded) and mine[-1].cause is HangupCause.FAILED
        assert [type(e) for e in seen if e.call_id == ""] == [PortDown, PortUp]
        assert len(ami.named("Originate")) == 1


async def test_an_asterisk_restart_ends_the_live_calls_once_and_dialing_resumes() -> None:
    async with adapter() as (ami, pbx, port):
        stream = aiter(port.events())
        up, ringing = request("human", 0), request("no_answer", 1)
        await port.originate(up)
        await port.originate(ringing)
        await next_of(stream, CallAnswered, up.call_id)
        ended: dict[CallId, list[CallEnded]] = {}
        pbx.restart()
        with pytest.raises(Conflict):  # between the drop and the reconciliation
            await asyncio.sleep(0.01)
            await port.originate(request("human", 2))
        async with asyncio.timeout(3):
            while True:
                event = await anext(stream)
                if isinstance(event, CallEnded):
                    ended.setdefault(event.call_id, []).append(event)
                if isinstance(event, PortUp):
                    break
        assert {k: [e.cause for e in v] for k, v in ended.items()} == {
            up.call_id: [HangupCause.PBX_LOST],
            ringing.call_id: [HangupCause.PBX_LOST],
        }
        after = request("human", 3)
        await port.originate(after)
        await next_of(stream, CallAnswered, after.call_id)
        assert len(ami.named("Originate")) == 3


async def test_a_call_that_survives_a_link_drop_goes_on_without_a_second_dialing() -> None:
    async with adapter() as (ami, _, port):
        stream = aiter(port.events())
        req = request("human")
        await port.originate(req)
        await next_of(stream, CallAnswered, req.call_id)
        ami.drop()  # the link only: Asterisk and the call live on
        seen: list[CallEvent] = []
        async with asyncio.timeout(3):
            while not any(isinstance(e, PortUp) for e in seen):
                seen.append(await anext(stream))
        assert [type(e) for e in seen if e.call_id == req.call_id] in ([], [contract.CallAmd])
        await port.hangup(req.call_id, reason="machine")
        end = await next_of(stream, CallEnded, req.call_id)
        assert isinstance(end, CallEnded) and end.cause in (HangupCause.MACHINE, HangupCause.NORMAL)
        assert len(ami.named("Originate")) == 1


async def test_while_the_link_is_down_originate_is_refused_and_nothing_is_written() -> None:
    async with adapter() as (ami, _, port):
        stream = aiter(port.events())
        ami.accept = False
        ami.drop()
        await next_of(stream, PortDown)
        with pytest.raises(Conflict) as err:
            await port.originate(request("human"))
        assert err.value.code == "pbx_down"
        ami.accept = True
        await next_of(stream, PortUp)
        req = request("busy")
        await port.originate(req)
        end = await next_of(stream, CallEnded, req.call_id)
        assert isinstance(end, CallEnded) and end.cause is HangupCause.BUSY
        assert len(ami.named("Originate")) == 1


async def test_ringing_then_up_comes_in_order_for_many_calls_at_once() -> None:
    async with adapter() as (_, _, port):
        stream = aiter(port.events())
        reqs = [request("human", i) for i in range(15)]
        await asyncio.gather(*(port.originate(r) for r in reqs))
        order: dict[CallId, list[type]] = {r.call_id: [] for r in reqs}
        async with asyncio.timeout(3):
            while any(CallAnswered not in v for v in order.values()):
                event = await anext(stream)
                order[event.call_id].append(type(event))
        for kinds in order.values():
            assert kinds[:3] == [CallDialing, CallRinging, CallAnswered]


class _NoReply:
    """A connection stand-in whose replies are lost (Asterisk never answers the action)."""

    def reply(self, *args: object, **kwargs: object) -> None:
        pass


@pytest.mark.parametrize("asterisk_dials", [True, False])
async def test_an_originate_that_times_out_is_followed_or_ended_after_a_check(asterisk_dials: bool) -> None:
    async with FakeAmi() as ami:
        pbx = FakeAsterisk(ami, behaviour_of, speed=20)
        real = ami.handlers["originate"]

        def silent(conn: Conn, a: Message) -> None:
            if asterisk_dials:  # the call is placed all the same
                real(_NoReply(), a)  # type: ignore[arg-type]

        ami.handlers["originate"] = silent
        port = await AmiTelephony.open(ami_config(ami), LoopClock(), in_doubt_grace=0.3)
        try:
            stream = aiter(port.events())
            r = OriginateRequest(call_id=new_call_id(), number=FakeAmiHarness().number("no_answer"), ring_timeout=1.0)
            await port.originate(r)  # times out after 0.5 s: no exception, its fate is unknown
            seen: list[CallEvent] = []
            async with asyncio.timeout(4):
                while not seen or not isinstance(seen[-1], CallEnded):
                    event = await anext(stream)
                    if event.call_id == r.call_id:
                        seen.append(event)
            end = seen[-1]
            assert isinstance(end, CallEnded)
            if asterisk_dials:
                assert [type(e) for e in seen] == [CallDialing, CallRinging, CallEnded]
                assert end.cause is HangupCause.NO_ANSWER
            else:
                assert [type(e) for e in seen] == [CallDialing, CallEnded]
                assert end.cause is HangupCause.FAILED and "timed out" in end.detail
            assert len(ami.named("Originate")) == 1
            assert pbx.live == {}
            assert len(ami.named("CoreShowChannels")) == (1 if asterisk_dials else 2)  # at login; + the check
        finally:
            await port.close()
