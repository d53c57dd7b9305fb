"""An in-process fake AMI server for tests: an asyncio TCP server speaking Asterisk's wire format.

It parses what the client writes with the project's own codec, records every action (across
connections, so a test can count Originates after a reconnect), answers the basic actions
(Login, Ping, Logoff, CoreShowChannels) the way Asterisk does, and lets a test hook any action,
write raw bytes (a transcript), or cut the connection at any moment.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from recobro.telephony.ami.codec import Message, Parser

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def block(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class Conn:
    writer: asyncio.StreamWriter
    actions: list[Message] = field(default_factory=list)
    logged_in: bool = False

    def send(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def reply(self, action: Message, *lines: str, status: str = "Success") -> None:
        self.send(block(f"Response: {status}", f"ActionID: {action.action_id}", *lines))

    def close(self) -> None:
        self.writer.close()


Handler = Callable[[Conn, Message], Awaitable[None] | None]


class FakeAmi:
    def __init__(self, *, user: str = "recobro", secret: str = "s3cret") -> None:  # noqa: S107
        self.user = user
        self.secret = secret
        self.actions: list[Message] = []
        self.conns: list[Conn] = []
        self.handlers: dict[str, Handler] = {}
        self.channels: list[Sequence[str]] = []  # header lines of each live channel, for CoreShowChannels
        self.ping_reply: Sequence[str] = ("Ping: Pong", "Timestamp: 1764146401.000125")
        self.accept = True  # False: close each new connection at once (Asterisk down)
        self.banner = BANNER
        self.after_login: Sequence[bytes] = (
            block("Event: FullyBooted", "Privilege: system,all", "Status: Fully Booted"),
        )
        self._server: asyncio.Server | None = None
        self.port = 0
        self.connected = asyncio.Event()

    async def __aenter__(self) -> FakeAmi:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for conn in self.conns:
            conn.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    @property
    def conn(self) -> Conn:
        """The newest connection."""
        return self.conns[-1]

    def named(self, name: str) -> list[Message]:
        return [a for a in self.actions if (a.get("Action") or "").lower() == name.lower()]

    def drop(self) -> None:
        """Cut the newest connection (Asterisk restarting, a cable pulled)."""
        self.conn.close()

    async def wait_for_action(self, name: str, count: int = 1, timeout: float = 3.0) -> Message:
        async with asyncio.timeout(timeout):
            while len(self.named(name)) < count:
                await asyncio.sleep(0.005)
        return self.named(name)[count - 1]

    async def wait_logins(self, count: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while sum(c.logged_in for c in self.conns) < count:
                await asyncio.sleep(0.005)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Conn(writer)
        if not self.accept:
            writer.close()
            return
        self.conns.append(conn)
        writer.write(self.banner)
        parser = Parser(expect_banner=False)
        try:
            while data := await reader.read(65536):
                for action in parser.feed(data):
                    self.actions.append(action)
                    conn.actions.append(action)
                    await self._handle(conn, action)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, conn: Conn, action: Message) -> None:
        name = (action.get("Action") or "").lower()
        hook = self.handlers.get(name)
        if hook is not None:
            result = hook(conn, action)
            if result is not None:
                await result
            return
        if name == "login":
            if action.get("Username") == self.user and action.get("Secret") == self.secret:
                conn.logged_in = True
                conn.reply(action, "Message: Authentication accepted")
                for data in self.after_login:
                    conn.send(data)
            else:
                conn.reply(action, "Message: Authentication failed", status="Error")
        elif not conn.logged_in:
            conn.reply(action, "Message: Permission denied", status="Error")
        elif name == "ping":
            conn.reply(action, *self.ping_reply)
        elif name == "logoff":
            conn.reply(action, "Message: Thanks for all the fish.", status="Goodbye")
            conn.close()
        elif name == "coreshowchannels":
            aid = action.action_id
            conn.reply(action, "EventList: start", "Message: Channels will follow")
            for lines in self.channels:
                conn.send(block("Event: CoreShowChannel", f"ActionID: {aid}", *lines))
            conn.send(
                block(
                    "Event: CoreShowChannelsComplete",
                    f"ActionID: {aid}",
                    "EventList: Complete",
                    f"ListItems: {len(self.channels)}",
                )
            )
        else:
            conn.reply(action, "Message: OK")
