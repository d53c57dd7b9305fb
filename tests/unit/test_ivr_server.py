"""The FastAGI server: routing, a half-open or broken peer costs one task, the loop keeps serving."""

from __future__ import annotations

import asyncio

import pytest

from ivr.channel import AgiChannel, AgiCommandError, ChannelHungUp
from ivr.server import FastAgiServer, ServerLimits
from tests.ivr_agi_peer import FakeAsterisk, agi_headers


async def _answer_and_collect(channel: AgiChannel) -> None:
    await channel.answer()
    got = await channel.get_digits(["hello"], max_digits=4)
    await channel.set_variable("GOT", got.digits or "none")
    await channel.hangup()


async def _wait_until(predicate, timeout: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def test_routes_a_call_and_plays_collects_hangs_up() -> None:
    server = FastAgiServer({"demo": _answer_and_collect}, port=0)
    host, port = await server.start()
    peer = FakeAsterisk(keys=["1", "2", "#"])
    await asyncio.wait_for(peer.run(host, port, "demo?x=1"), 3)
    await server.close()
    assert peer.variables["GOT"] == "12"
    assert peer.played == ["hello"]
    assert peer.hung_up_by_script
    assert server.served == 1


async def test_plain_function_route_works() -> None:
    seen: list[str] = []

    def plain(channel: AgiChannel) -> None:
        seen.append(channel.env.script)

    server = FastAgiServer({"plain": plain}, port=0)
    host, port = await server.start()
    await asyncio.wait_for(FakeAsterisk(keys=[]).run(host, port, "plain"), 3)
    await _wait_until(lambda: server.served == 1)
    await server.close()
    assert seen == ["plain"]


async def test_disconnect_mid_headers_ends_its_task_and_server_keeps_serving() -> None:
    server = FastAgiServer({"demo": _answer_and_collect}, port=0, limits=ServerLimits(header_timeout=30))
    host, port = await server.start()
    _reader, writer = await asyncio.open_connection(host, port)
    writer.write(agi_headers("demo")[:50])
    await writer.drain()
    await _wait_until(lambda: server.active == 1)
    writer.close()
    await writer.wait_closed()
    await _wait_until(lambda: server.active == 0)  # the task ended, long before the 30 s deadline
    assert server.dropped == 1
    peer = FakeAsterisk(keys=["7", "#"])
    await asyncio.wait_for(peer.run(host, port, "demo"), 3)
    await server.close()
    assert peer.variables["GOT"] == "7"


async def test_half_open_peers_cost_one_task_each_and_time_out() -> None:
    server = FastAgiServer({"demo": _answer_and_collect}, port=0, limits=ServerLimits(header_timeout=0.5))
    host, port = await server.start()
    silent = [await asyncio.open_connection(host, port) for _ in range(20)]
    await _wait_until(lambda: server.active == 20)
    peer = FakeAsterisk(keys=["5", "#"])  # served while twenty peers say nothing
    await asyncio.wait_for(peer.run(host, port, "demo"), 2)
    assert peer.variables["GOT"] == "5"
    await _wait_until(lambda: server.active == 0, timeout=3)
    assert server.dropped == 20
    for _, w in silent:
        w.close()
    await server.close()


async def test_unknown_script_and_garbage_are_dropped() -> None:
    server = FastAgiServer({"demo": _answer_and_collect}, port=0)
    host, port = await server.start()
    await asyncio.wait_for(FakeAsterisk(keys=[]).run(host, port, "nope"), 3)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET / HTTP/1.1\r\n\r\n")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 2) == b""  # closed by the server
    writer.close()
    await _wait_until(lambda: server.dropped == 2)
    await server.close()


async def test_caller_hanging_up_mid_call_ends_the_handler_cleanly() -> None:
    done: list[str] = []

    async def long_call(channel: AgiChannel) -> None:
        try:
            await channel.answer()
            for _ in range(10):
                await channel.stream_file("prompt", "")
        except ChannelHungUp:
            done.append("hung up")
            raise

    server = FastAgiServer({"long": long_call}, port=0)
    host, port = await server.start()
    peer = FakeAsterisk(keys=[], hangup_after_commands=3)
    await asyncio.wait_for(peer.run(host, port, "long"), 3)
    await _wait_until(lambda: server.served == 1)
    await server.close()
    assert done == ["hung up"]
    assert len(peer.played) == 2


async def test_unknown_command_raises_command_error() -> None:
    errors: list[int] = []

    async def bad(channel: AgiChannel) -> None:
        try:
            await channel.command("SAY ALPHA", "abc", "")
        except AgiCommandError as exc:
            errors.append(exc.reply.code)

    server = FastAgiServer({"bad": bad}, port=0)
    host, port = await server.start()
    await asyncio.wait_for(FakeAsterisk(keys=[]).run(host, port, "bad"), 3)
    await _wait_until(lambda: server.served == 1)
    await server.close()
    assert errors == [510]


async def test_close_cancels_calls_that_outlive_the_grace() -> None:
    started = asyncio.Event()

    async def stuck(channel: AgiChannel) -> None:
        started.set()
        await asyncio.sleep(60)

    server = FastAgiServer({"stuck": stuck}, port=0)
    host, port = await server.start()
    peer_task = asyncio.create_task(FakeAsterisk(keys=[]).run(host, port, "stuck"))
    await asyncio.wait_for(started.wait(), 2)
    await server.close(grace=0.1)
    assert server.active == 0
    await asyncio.wait_for(peer_task, 2)


@pytest.mark.parametrize("keys", [["T"], []])
async def test_get_digits_timeout_returns_nothing(keys: list[str]) -> None:
    got: list[tuple[str, bool]] = []

    async def h(channel: AgiChannel) -> None:
        c = await channel.get_digits(["q"], max_digits=2, timeout=0.1)
        got.append((c.digits, c.timed_out))

    server = FastAgiServer({"h": h}, port=0)
    host, port = await server.start()
    await asyncio.wait_for(FakeAsterisk(keys=keys).run(host, port, "h"), 3)
    await _wait_until(lambda: server.served == 1)
    await server.close()
    assert got == [("", True)]
