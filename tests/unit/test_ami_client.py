"""The asyncio AMI client against an in-process fake AMI server (tests/ami_fake.py).

What must hold: login works or fails loudly; every action is correlated by its own ActionID
and has a timeout; a ping needs a real Pong; an action caught by a dropped link fails and is
never re-sent (one Originate on the wire, however many reconnects); the client reconnects
with growing waits; events reach the stream in order, with the link markers between them.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from recobro.domain.errors import ValidationError
from recobro.telephony.ami.client import (
    AmiClient,
    AmiConfig,
    AmiError,
    AmiLinkLost,
    AmiLoginFailed,
    AmiNotConnected,
    AmiTimeout,
    LinkDown,
    LinkUp,
    StreamItem,
    backoff_delays,
)
from recobro.telephony.ami.codec import ActionIds, Kind, Message, parse_all
from tests.ami_fake import Conn, FakeAmi, block

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"


def config(fake: FakeAmi, **extra: float | str) -> AmiConfig:
    base: dict[str, float | str] = {
        "port": fake.port,
        "user": "recobro",
        "secret": "s3cret",
        "action_timeout": 0.5,
        "connect_timeout": 0.5,
        "ping_interval": 0.2,
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
    }
    base.update(extra)
    return AmiConfig(**base)  # type: ignore[arg-type]


@asynccontextmanager
async def running(**extra: float | str) -> AsyncIterator[tuple[FakeAmi, AmiClient]]:
    async with FakeAmi() as fake:
        client = AmiClient(config(fake, **extra), ids=ActionIds("t"))
        await client.start()
        try:
            yield fake, client
        finally:
            await client.close()


async def next_item(stream: AsyncIterator[StreamItem], timeout: float = 2.0) -> StreamItem:
    return await asyncio.wait_for(anext(stream), timeout)


async def until_item(stream: AsyncIterator[StreamItem], kind: type, timeout: float = 3.0) -> list[StreamItem]:
    seen: list[StreamItem] = []
    async with asyncio.timeout(timeout):
        while True:
            item = await anext(stream)
            seen.append(item)
            if isinstance(item, kind):
                return seen


# --- login --------------------------------------------------------------------------------


async def test_login_sends_the_credentials_and_the_stream_starts_with_link_up() -> None:
    async with running() as (fake, client):
        login = fake.named("Login")[0]
        assert (login["Username"], login["Secret"], login["Events"]) == ("recobro", "s3cret", "on")
        assert login.action_id == "t-1"
        assert client.connected and client.version == "Asterisk Call Manager/11.0.0"
        stream = aiter(client.stream())
        first = await next_item(stream)
        assert first == LinkUp(first=True, version="Asterisk Call Manager/11.0.0")
        booted = await next_item(stream)  # sent right after the login response, queued after LinkUp
        assert isinstance(booted, Message) and booted.is_event("FullyBooted")


async def test_a_refused_login_raises_with_a_spanish_first_message() -> None:
    async with FakeAmi(secret="other") as fake:
        client = AmiClient(config(fake))
        with pytest.raises(AmiLoginFailed) as err:
            await client.start()
        assert err.value.message.startswith("Asterisk rechazó el inicio de sesión AMI / AMI login refused")
        assert not client.connected


async def test_no_server_and_not_ami_are_clear_errors() -> None:
    async with FakeAmi() as fake:
        port = fake.port
    with pytest.raises(AmiNotConnected, match="no se pudo conectar"):
        await AmiClient(AmiConfig(port=port, connect_timeout=0.5)).start()
    async with FakeAmi() as fake:
        fake.banner = b"SSH-2.0-OpenSSH_9.2\r\n"
        with pytest.raises(AmiNotConnected, match="not an AMI server"):
            await AmiClient(config(fake)).start()


# --- actions ------------------------------------------------------------------------------


async def test_concurrent_actions_answered_out_of_order_get_their_own_responses() -> None:
    async with running(ping_interval=30) as (fake, client):
        held: list[tuple[Conn, Message]] = []

        def hold(conn: Conn, action: Message) -> None:
            held.append((conn, action))
            if len(held) == 3:
                for c, a in reversed(held):
                    c.reply(a, f"Value: {a['Variable']}")

        fake.handlers["getvar"] = hold
        replies = await asyncio.gather(*(client.send("Getvar", {"Variable": v}) for v in ("A", "B", "C")))
        assert [r["Value"] for r in replies] == ["A", "B", "C"]
        assert len({r.action_id for r in replies}) == 3


async def test_an_error_response_raises_with_asterisks_message() -> None:
    async with running() as (fake, client):
        fake.handlers["redirect"] = lambda conn, a: conn.reply(a, "Message: Channel not specified", status="Error")
        with pytest.raises(AmiError) as err:
            await client.send("Redirect", {"Context": "x"})
        assert err.value.message == "Channel not specified"
        assert err.value.response is not None and err.value.response.name == "Error"


async def test_an_unanswered_action_times_out_and_its_late_answer_is_ignored() -> None:
    async with running(action_timeout=0.2, ping_interval=30) as (fake, client):
        late: list[Message] = []
        fake.handlers["getvar"] = lambda conn, a: late.append(a) or None
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(AmiTimeout, match="no answer from Asterisk in time"):
            await client.send("Getvar", {"Variable": "X"})
        assert 0.15 <= loop.time() - start < 0.6
        fake.conn.reply(late[0], "Value: stale")  # the late answer belongs to nobody now
        del fake.handlers["getvar"]
        fresh = await client.send("Getvar", {"Variable": "Y"})
        assert fresh.get("Value") is None and fresh.action_id != late[0].action_id
        assert client.connected


async def test_a_value_with_crlf_never_reaches_the_wire() -> None:
    async with running() as (fake, client):
        with pytest.raises(ValidationError):
            await client.send("Originate", {"CallerID": "x\r\nAction: Hangup"})
        await client.send("Ping")
        assert [a["Action"] for a in fake.actions] == ["Login", "Ping"]


async def test_ping_insists_on_pong() -> None:
    async with running(ping_interval=30) as (fake, client):
        await client.ping()
        fake.ping_reply = ("Message: whatever",)
        with pytest.raises(AmiError, match="bad ping reply"):
            await client.ping()


async def test_event_list_collects_its_items_and_other_events_still_flow() -> None:
    async with running(ping_interval=30) as (fake, client):
        stream = aiter(client.stream())
        await until_item(stream, LinkUp)
        fake.channels = [
            ("Channel: PJSIP/carrier-00000001", "Uniqueid: recobro-aa11", "ChannelState: 6"),
            ("Channel: PJSIP/agent-ana-00000002", "Uniqueid: 1764146300.9", "ChannelState: 6"),
        ]
        items = await client.send_list("CoreShowChannels", "CoreShowChannelsComplete")
        assert [i["Uniqueid"] for i in items] == ["recobro-aa11", "1764146300.9"]
        fake.conn.send(block("Event: Hangup", "Uniqueid: recobro-aa11", "Cause: 16"))
        rest = await until_item(stream, Message)
        names = [i.name for i in rest if isinstance(i, Message)]
        assert "CoreShowChannel" not in names  # list items are the action's, not the stream's


async def test_an_event_carrying_the_action_id_of_an_answered_action_goes_to_the_stream() -> None:
    """OriginateResponse carries the Originate's ActionID and a Response header, but is an event."""
    async with running(ping_interval=30) as (fake, client):
        stream = aiter(client.stream())
        await until_item(stream, LinkUp)

        def originate(conn: Conn, a: Message) -> None:
            conn.reply(a, "Message: Originate successfully queued")
            conn.send(block("Event: OriginateResponse", f"ActionID: {a.action_id}", "Response: Failure", "Reason: 5"))

        fake.handlers["originate"] = originate
        reply = await client.send("Originate", {"Channel": "PJSIP/1@carrier", "Async": "true"})
        assert reply["Message"] == "Originate successfully queued"
        seen = [i for i in await until_item(stream, Message) if isinstance(i, Message)]
        while not seen[-1].is_event("OriginateResponse"):
            seen += [i for i in await until_item(stream, Message) if isinstance(i, Message)]
        assert seen[-1].action_id == reply.action_id and seen[-1]["Reason"] == "5"


async def test_a_transcript_read_in_random_pieces_reaches_the_stream_whole() -> None:
    data = (FIXTURES / "handmade-human-call.ami").read_bytes()
    expected = [m for m in parse_all(data) if m.kind is Kind.EVENT]
    body = data[data.index(b"\r\n\r\n") + 4 :]  # after the banner and the login response: the fake sent its own
    rng = random.Random(7)
    async with running(ping_interval=30) as (fake, client):
        stream = aiter(client.stream())
        await until_item(stream, LinkUp)
        await next_item(stream)  # the fake's FullyBooted
        cuts = sorted(rng.sample(range(1, len(body)), 60))
        for a, b in itertools.pairwise([0, *cuts, len(body)]):
            fake.conn.send(body[a:b])
            await asyncio.sleep(0)
        got: list[Message] = []
        while len(got) < len(expected):
            item = await next_item(stream)
            assert isinstance(item, Message)
            got.append(item)
        assert got == expected
        assert any(m.get("CallerIDName") == "José Núñez Peña" for m in got)


# --- the link -----------------------------------------------------------------------------


async def test_a_drop_mid_action_fails_it_and_it_is_never_resent() -> None:
    async with running(ping_interval=30) as (fake, client):
        stream = aiter(client.stream())
        await until_item(stream, LinkUp)
        fake.handlers["originate"] = lambda conn, a: conn.close()
        with pytest.raises(AmiLinkLost, match="AMI link lost"):
            await client.send("Originate", {"Channel": "PJSIP/1@carrier", "Async": "true"})
        seen = await until_item(stream, LinkUp)
        assert [type(i) for i in seen if not isinstance(i, Message)] == [LinkDown, LinkUp]
        assert seen[-1] == LinkUp(first=False, version="Asterisk Call Manager/11.0.0")
        await fake.wait_logins(2)
        await client.send("Ping")
        await asyncio.sleep(0.1)
        assert len(fake.named("Originate")) == 1
        assert [a["Action"] for a in fake.conns[1].actions] == ["Login", "Ping"]


async def test_every_pending_action_fails_when_the_link_drops() -> None:
    async with running(ping_interval=30, action_timeout=2.0) as (fake, client):
        fake.handlers["getvar"] = lambda conn, a: None
        tasks = [asyncio.create_task(client.send("Getvar", {"Variable": str(i)})) for i in range(3)]
        await fake.wait_for_action("Getvar", 3)
        fake.drop()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, AmiLinkLost) for r in results), results


async def test_an_action_while_down_fails_at_once_and_writes_nothing() -> None:
    async with running(ping_interval=30, backoff_initial=0.3, backoff_max=0.3) as (fake, client):
        stream = aiter(client.stream())
        await until_item(stream, LinkUp)
        fake.accept = False
        fake.drop()
        await until_item(stream, LinkDown)
        with pytest.raises(AmiNotConnected, match="not sent"):
            await client.send("Originate", {"Channel": "PJSIP/1@carrier"})
        assert not fake.named("Originate")


async def test_reconnects_with_growing_waits_until_asterisk_is_back() -> None:
    async with running(ping_interval=30, backoff_initial=0.05, backoff_max=0.4) as (fake, client):
        stream = aiter(client.stream())
        await until_item(stream, LinkUp)
        fake.accept = False
        attempts: list[float] = []
        loop = asyncio.get_running_loop()
        original = fake._serve

        async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            attempts.append(loop.time())
            await original(reader, writer)

        fake._server.close()  # type: ignore[union-attr]
        server = await asyncio.start_server(counting, "127.0.0.1", fake.port)
        fake.drop()
        await until_item(stream, LinkDown)
        async with asyncio.timeout(5):
            while len(attempts) < 4:
                await asyncio.sleep(0.01)
        gaps = [b - a for a, b in itertools.pairwise(attempts)]
        assert gaps[1] > gaps[0] * 1.5, gaps  # 0.1 after 0.05, 0.2 after 0.1 (+ connect time)
        fake.accept = True
        seen = await until_item(stream, LinkUp, timeout=5)
        assert seen[-1] == LinkUp(first=False, version="Asterisk Call Manager/11.0.0")
        await client.ping()
        server.close()


async def test_a_ping_without_pong_takes_the_link_down_and_back_up() -> None:
    async with running(ping_interval=0.1) as (fake, client):
        stream = aiter(client.stream())
        await until_item(stream, LinkUp)
        fake.ping_reply = ("Message: not really",)
        down = await until_item(stream, LinkDown)
        assert isinstance(down[-1], LinkDown) and "ping" in down[-1].reason
        fake.ping_reply = ("Ping: Pong",)
        await until_item(stream, LinkUp)


def test_backoff_doubles_up_to_the_ceiling() -> None:
    assert list(itertools.islice(backoff_delays(0.5, 10.0), 7)) == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


async def test_close_logs_off_and_ends_the_stream_without_link_down() -> None:
    async with FakeAmi() as fake:
        client = AmiClient(config(fake))
        await client.start()
        stream = aiter(client.stream())
        await client.close()
        rest = [item async for item in stream]
        assert not any(isinstance(i, LinkDown) for i in rest), rest
        assert fake.named("Logoff")
        with pytest.raises(AmiNotConnected):
            await client.send("Ping")
