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

    def list_channels(self, conn: Conn, action: Message) -> None:
        """Answer CoreShowChannels as an event list of ``self.channels``."""
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
            self.list_channels(conn, action)
        else:
            conn.reply(action, "Message: OK")


# --- a fake Asterisk with calls ------------------------------------------------------------


@dataclass
class FakeChannel:
    name: str
    uniqueid: str
    call_id: str
    behaviour: str
    amd: bool = True
    state: int = 0
    timers: list[asyncio.TimerHandle] = field(default_factory=list)

    def snapshot(self) -> list[str]:
        desc = {0: "Down", 5: "Ringing", 6: "Up"}[self.state]
        lines = [
            f"Channel: {self.name}",
            f"ChannelState: {self.state}",
            f"ChannelStateDesc: {desc}",
            "CallerIDNum: <unknown>",
            "CallerIDName: <unknown>",
            "Context: recobro-outbound",
            "Exten: s",
            "Priority: 1",
            f"Uniqueid: {self.uniqueid}",
            f"Linkedid: {self.uniqueid}",
        ]
        if self.state:  # channelvars: the variable is on the channel once the Originate set it
            lines.append(f"ChanVariable: RECOBRO_CALL_ID={self.call_id}")
        return lines


class FakeAsterisk:
    """Calls through the dialplan of asterisk_config, played on timers ``speed`` times faster.

    The number's behaviour comes from ``behaviour_of(number)``: human, machine, busy, invalid,
    no_answer. Originate (Async) answers "queued" and then plays the call's events as Asterisk
    does; Hangup, Redirect (recobro-connect / recobro-abandon), Setvar and CoreShowChannels act
    on the live channels. ``restart()`` forgets every channel and cuts the link.
    """

    def __init__(self, ami: FakeAmi, behaviour_of: Callable[[str], str], *, speed: float = 20.0) -> None:
        self.ami = ami
        self.behaviour_of = behaviour_of
        self.speed = speed
        self.live: dict[str, FakeChannel] = {}  # by channel name
        self.seq = 0
        ami.handlers.update(
            {
                "originate": self._originate,
                "hangup": self._hangup,
                "redirect": self._redirect,
                "setvar": lambda conn, a: conn.reply(a, "Message: Variable Set"),
                "coreshowchannels": self._core_show_channels,
            }
        )

    def emit(self, *lines: str) -> None:
        if self.ami.conns:
            self.ami.conn.send(block(*lines))

    def later(self, chan: FakeChannel, seconds: float, action: Callable[[], None]) -> None:
        chan.timers.append(asyncio.get_running_loop().call_later(seconds / self.speed, action))

    def restart(self) -> None:
        for chan in self.live.values():
            for timer in chan.timers:
                timer.cancel()
        self.live.clear()
        self.ami.drop()

    def _originate(self, conn: Conn, action: Message) -> None:
        conn.reply(action, "Message: Originate successfully queued")
        target = action["Channel"]
        number = target.removeprefix("PJSIP/").split("@")[0]
        variables = dict(v.split("=", 1) for v in action.get_all("Variable"))
        self.seq += 1
        chan = FakeChannel(
            f"PJSIP/carrier-{self.seq:08x}",
            action["ChannelId"],
            variables["RECOBRO_CALL_ID"],
            self.behaviour_of(number),
        )
        chan.amd = variables.get("RECOBRO_AMD", "1") == "1"
        timeout = int(action["Timeout"]) / 1000
        self.live[chan.name] = chan
        self.emit("Event: Newchannel", "Privilege: call,all", *chan.snapshot())
        aid = action.action_id

        def state(value: int) -> None:
            chan.state = value
            self.emit("Event: Newstate", "Privilege: call,all", *chan.snapshot())

        def fail(cause: int, text: str, reason: int) -> None:
            self._gone(chan, cause, text)
            self.emit(
                "Event: OriginateResponse",
                f"ActionID: {aid}",
                "Response: Failure",
                f"Channel: {target}",
                f"Reason: {reason}",
                f"Uniqueid: {chan.uniqueid}",
            )

        def answer() -> None:
            state(6)
            self.emit(
                "Event: OriginateResponse",
                f"ActionID: {aid}",
                "Response: Success",
                f"Channel: {chan.name}",
                "Reason: 4",
                f"Uniqueid: {chan.uniqueid}",
            )
            if chan.amd:
                status, cause = (
                    ("MACHINE", "LONGGREETING-1500-1500") if chan.behaviour == "machine" else ("HUMAN", "HUMAN-800-800")
                )
                self.later(chan, 1.5, lambda: self.user(chan, "RecobroAmd", f"Status: {status}", f"Cause: {cause}"))

        def ring_out() -> None:
            self.emit(
                "Event: OriginateResponse",
                f"ActionID: {aid}",
                "Response: Failure",
                f"Channel: {target}",
                "Reason: 3",
                f"Uniqueid: {chan.uniqueid}",
            )
            self._gone(chan, 16, "Normal Clearing")

        if chan.behaviour == "busy":
            self.later(chan, 0.5, lambda: fail(17, "User busy", 5))
        elif chan.behaviour == "invalid":
            self.later(chan, 0.3, lambda: fail(1, "Unallocated (unassigned) number", 0))
        else:
            self.later(chan, 0.2, lambda: state(5))
            if chan.behaviour == "no_answer":
                self.later(chan, timeout, ring_out)
            else:
                self.later(chan, 1.0, answer)

    def user(self, chan: FakeChannel, name: str, *lines: str) -> None:
        if chan.name in self.live:
            self.emit(
                "Event: UserEvent",
                "Privilege: user,all",
                *chan.snapshot(),
                f"UserEvent: {name}",
                f"CallId: {chan.call_id}",
                *lines,
            )

    def _gone(self, chan: FakeChannel, cause: int, text: str) -> None:
        if self.live.pop(chan.name, None) is None:
            return
        for timer in chan.timers:
            timer.cancel()
        self.emit("Event: Hangup", "Privilege: call,all", *chan.snapshot(), f"Cause: {cause}", f"Cause-txt: {text}")

    def _hangup(self, conn: Conn, action: Message) -> None:
        chan = self.live.get(action["Channel"])
        if chan is None:
            conn.reply(action, "Message: No such channel", status="Error")
            return
        conn.reply(action, "Message: Channel Hungup")
        self._gone(chan, int(action.get("Cause") or "16"), "Normal Clearing")

    def _redirect(self, conn: Conn, action: Message) -> None:
        chan = self.live.get(action["Channel"])
        if chan is None:
            conn.reply(action, "Message: Channel specified does not exist", status="Error")
            return
        conn.reply(action, "Message: Redirect successful")
        exten = action["Exten"]
        if action["Context"] == "recobro-connect":
            self.user(chan, "RecobroConnect", f"AgentId: {exten}")
            self.emit(
                "Event: BridgeEnter",
                "Privilege: call,all",
                "BridgeUniqueid: b-1",
                "BridgeType: base",
                "BridgeTechnology: softmix",
                "BridgeCreator: ConfBridge",
                f"BridgeName: recobro-agent-{exten}",
                "BridgeNumChannels: 2",
                *chan.snapshot(),
            )
        elif action["Context"] == "recobro-abandon":
            self.user(chan, "RecobroAbandon", "Message: x")
            self.later(chan, 3.0, lambda: self._gone(chan, 16, "Normal Clearing"))

    def _core_show_channels(self, conn: Conn, action: Message) -> None:
        self.ami.channels = [
            [*c.snapshot(), "Application: BridgeWait", "Duration: 00:00:03"] for c in self.live.values()
        ]
        self.ami.list_channels(conn, action)
