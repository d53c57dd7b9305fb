"""The FastAGI server: Asterisk's ``AGI(agi://host:4573/<script>)`` lands here.

Each connection is one asyncio task started by ``asyncio.start_server``. The task reads the
``agi_*`` header block under a deadline, picks the handler by script name, and runs it with an
``AgiChannel``. A peer that connects and says nothing, stops mid-headers, disconnects, or
breaks the protocol ends its own task and nothing else: the loop keeps serving the others.
Handlers may be coroutine functions or plain functions (a plain function's return value is
awaited only when it is awaitable).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from ivr.agi.codec import NEED_DATA, AgiCodec, Closed, Environment, ProtocolError
from ivr.channel import READ_SIZE, AgiChannel, ChannelHungUp

log = logging.getLogger(__name__)

Handler = Callable[[AgiChannel], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class ServerLimits:
    header_timeout: float = 5.0  # seconds to receive the whole agi_* block
    reply_timeout: float = 120.0  # seconds Asterisk may take to answer one command
    max_connections: int = 500


class HeadersIncomplete(Exception):
    """The peer went away before the end of the ``agi_*`` block."""


async def read_environment(reader: asyncio.StreamReader, codec: AgiCodec) -> Environment:
    """Read until the header block is complete; ``HeadersIncomplete`` if the stream ends first."""
    while True:
        event = codec.next_event()
        if event is NEED_DATA:
            try:
                chunk = await reader.read(READ_SIZE)
            except (ConnectionError, OSError):
                chunk = b""
            codec.receive_data(chunk)
            continue
        if isinstance(event, Environment):
            return event
        if isinstance(event, Closed):
            raise HeadersIncomplete("connection closed inside the AGI header block")
        raise ProtocolError(f"unexpected {event!r} before the AGI environment")


class FastAgiServer:
    """Routes AGI connections by script name to handlers; ``start`` binds, ``close`` drains."""

    def __init__(
        self,
        routes: Mapping[str, Handler],
        *,
        host: str = "127.0.0.1",
        port: int = 4573,
        limits: ServerLimits | None = None,
    ) -> None:
        self._routes = dict(routes)
        self._host = host
        self._port = port
        self._limits = limits or ServerLimits()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.served = 0  # connections whose handler ran to its end
        self.dropped = 0  # connections closed before or while their handler ran

    @property
    def active(self) -> int:
        return len(self._tasks)

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the FastAGI server is not started")
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._on_connect, self._host, self._port, limit=READ_SIZE * 4)
        log.info("FastAGI listening on %s:%s", *self.address)
        return self.address

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self, grace: float = 5.0) -> None:
        """Stop accepting, give running calls ``grace`` seconds, then cancel the rest."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if len(self._tasks) > self._limits.max_connections:
                log.warning("FastAGI: %d connections open, refusing one", len(self._tasks) - 1)
                self.dropped += 1
                return
            await self._serve(reader, writer)
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        codec = AgiCodec()
        try:
            env = await asyncio.wait_for(read_environment(reader, codec), self._limits.header_timeout)
        except (HeadersIncomplete, TimeoutError, ProtocolError) as exc:
            log.info("FastAGI: connection from %s dropped before its environment: %s", peer, exc or "timeout")
            self.dropped += 1
            return
        handler = self._routes.get(env.script)
        if handler is None:
            log.warning("FastAGI: no script %r (from %s); known: %s", env.script, peer, sorted(self._routes))
            self.dropped += 1
            return
        channel = AgiChannel(reader, writer, codec, env, reply_timeout=self._limits.reply_timeout)
        try:
            result = handler(channel)
            if inspect.isawaitable(result):
                await result
            self.served += 1
        except ChannelHungUp as exc:
            log.info("FastAGI %s: caller gone (%s)", env.script, exc)
            self.served += 1
        except (ProtocolError, TimeoutError) as exc:
            log.warning("FastAGI %s: %s", env.script, exc or "reply timeout")
            self.dropped += 1
        except Exception:
            log.exception("FastAGI %s: handler failed", env.script)
            self.dropped += 1
