"""One call's AGI channel: the few things the IVR does to a call, over the codec and a stream.

Every method sends one or a few AGI commands and waits for their replies. A caller who hung up
(Asterisk's ``HANGUP`` line, a ``511`` reply, or the connection ending) raises
``ChannelHungUp``, which the flows' runner treats as the normal end of a call. Reading and
writing have a timeout so that a PBX that stops answering costs one task, not a stuck call.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from ivr.agi.codec import (
    NEED_DATA,
    AgiCodec,
    Closed,
    Environment,
    ErrorReply,
    HangupNotice,
    ProtocolError,
    Reply,
)

log = logging.getLogger(__name__)

DIGITS = "0123456789*#"
READ_SIZE = 4096


class ChannelHungUp(Exception):
    """The caller is gone (or the PBX closed the connection): stop talking to this channel."""


class AgiCommandError(Exception):
    """Asterisk refused a command (510 unknown, 520 bad syntax): a bug on our side."""

    def __init__(self, reply: ErrorReply, command: str) -> None:
        super().__init__(f"{command}: {reply.code} {reply.message}")
        self.reply = reply


@dataclass(frozen=True, slots=True)
class Collected:
    """Digits typed in answer to a prompt. ``timed_out`` when the caller stopped typing."""

    digits: str
    timed_out: bool


class AgiChannel:
    """AGI commands over one connection whose environment has already been read."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        codec: AgiCodec,
        env: Environment,
        *,
        reply_timeout: float = 120.0,
    ) -> None:
        self.env = env
        self._reader = reader
        self._writer = writer
        self._codec = codec
        self._reply_timeout = reply_timeout

    @property
    def hung_up(self) -> bool:
        return self._codec.hung_up

    async def command(self, name: str, *args: str | int, timeout: float | None = None, on_dead: bool = False) -> Reply:
        """Send one command and return its reply; a dead channel raises ``ChannelHungUp``.

        ``on_dead``: send it even after the caller hung up (Asterisk still answers a few
        commands on a dead channel, e.g. ``GET VARIABLE``; the others get a 511).
        """
        if self._codec.hung_up and not on_dead:
            raise ChannelHungUp(f"{name}: the caller hung up")
        try:
            data = self._codec.send(name, *args)
        except ProtocolError:
            if self._codec.hung_up:
                raise ChannelHungUp(name) from None
            raise
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            raise ChannelHungUp(f"{name}: connection lost ({exc})") from exc
        reply = await asyncio.wait_for(self._reply(name), timeout or self._reply_timeout)
        return reply

    async def _reply(self, name: str) -> Reply:
        while True:
            event = self._codec.next_event()
            if event is NEED_DATA:
                try:
                    chunk = await self._reader.read(READ_SIZE)
                except (ConnectionError, OSError):
                    chunk = b""
                self._codec.receive_data(chunk)
                continue
            if isinstance(event, Reply):
                return event
            if isinstance(event, HangupNotice):
                continue  # the reply to the command in flight still comes (a 511 or a -1)
            if isinstance(event, ErrorReply):
                if event.dead_channel:
                    raise ChannelHungUp(f"{name}: {event.message}")
                raise AgiCommandError(event, name)
            if isinstance(event, Closed):
                raise ChannelHungUp(f"{name}: the PBX closed the connection")
            raise ProtocolError(f"unexpected AGI event {event!r} after {name}")

    def _check(self, reply: Reply, name: str) -> Reply:
        """A ``result=-1`` means the channel failed or hung up during the command."""
        if reply.number == -1:
            raise ChannelHungUp(f"{name}: result -1")
        return reply

    # -- the verbs the flows need --------------------------------------------------------------
    async def answer(self) -> None:
        self._check(await self.command("ANSWER"), "ANSWER")

    async def stream_file(self, name: str, escape_digits: str = "") -> str | None:
        """Play a sound file (path without extension); the digit that interrupted it, if any."""
        reply = self._check(await self.command("STREAM FILE", name, escape_digits), "STREAM FILE")
        code = reply.number or 0
        return chr(code) if code > 0 else None

    async def wait_for_digit(self, timeout: float) -> str | None:
        """One key press within ``timeout`` seconds, or None."""
        reply = self._check(await self.command("WAIT FOR DIGIT", int(timeout * 1000)), "WAIT FOR DIGIT")
        code = reply.number or 0
        return chr(code) if code > 0 else None

    async def get_digits(
        self,
        files: list[str],
        *,
        max_digits: int,
        timeout: float = 5.0,
        inter_digit: float = 3.0,
        terminator: str = "#",
    ) -> Collected:
        """Play ``files`` (a key press cuts them short) then collect up to ``max_digits`` keys.

        Collection ends at ``max_digits`` keys, at the terminator (not returned), or when the
        caller is silent for ``timeout`` (first key) / ``inter_digit`` (later keys) seconds.
        """
        typed = ""
        for name in files:
            digit = await self.stream_file(name, DIGITS)
            if digit is not None:
                typed = digit
                break
        return await self.collect(
            typed, max_digits=max_digits, timeout=timeout, inter_digit=inter_digit, terminator=terminator
        )

    async def collect(
        self,
        typed: str = "",
        *,
        max_digits: int,
        timeout: float = 5.0,
        inter_digit: float = 3.0,
        terminator: str = "#",
    ) -> Collected:
        """Go on collecting keys after ``typed`` (a key that cut a prompt short), as ``get_digits``."""
        while True:
            if typed.endswith(terminator) and terminator:
                return Collected(typed[: -len(terminator)], timed_out=False)
            if len(typed) >= max_digits:
                return Collected(typed, timed_out=False)
            digit = await self.wait_for_digit(inter_digit if typed else timeout)
            if digit is None:
                return Collected(typed, timed_out=True)
            typed += digit

    async def set_variable(self, name: str, value: str) -> None:
        await self.command("SET VARIABLE", name, value)

    async def get_variable(self, name: str) -> str | None:
        """A channel variable; also works once the caller hung up (e.g. ``DIALSTATUS``)."""
        reply = await self.command("GET VARIABLE", name, on_dead=True)
        return reply.data if reply.number == 1 else None

    async def exec(self, application: str, options: str = "") -> Reply:
        return await self.command("EXEC", application, options)

    async def transfer(self, dial_string: str, *, ring_seconds: int = 30) -> str:
        """Bridge the caller to ``dial_string`` (an agent's leg); returns Asterisk's DIALSTATUS.

        The caller usually hangs up while bridged: the status is still read from the dead channel.
        """
        await self.exec("Dial", f"{dial_string},{ring_seconds}")
        return (await self.get_variable("DIALSTATUS")) or "UNKNOWN"

    async def join_conference(self, name: str, options: str = "") -> bool:
        """Join the agent's ConfBridge if someone is in it; False (not joined) when it is empty."""
        parties = await self.get_variable(f"CONFBRIDGE_INFO(parties,{name})")
        if not parties or not parties.isdigit() or int(parties) < 1:
            return False
        await self.exec("ConfBridge", f"{name},{options}" if options else name)
        return True

    async def hangup(self) -> None:
        try:
            await self.command("HANGUP")
        except ChannelHungUp:
            pass

    async def close(self) -> None:
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (ConnectionError, OSError):
            pass
