"""A sans-I/O codec for the Asterisk Gateway Interface (AGI / FastAGI): bytes in, events out.

Theory of operation
-------------------
An AGI conversation over TCP has two phases. First Asterisk sends the channel's environment,
one ``agi_name: value`` line each, ended by an empty line. Then the script talks: it sends one
command line, Asterisk answers with one reply, and so on, strictly one command at a time.

Replies look like ``200 result=1 (timeout) endpos=1234``. Errors are ``510`` (unknown
command), ``511`` (the channel is dead) and ``520`` (bad syntax; either one line, or a
``520-`` block of usage lines closed by ``520 End of proper usage.``). When the caller hangs
up, Asterisk also sends a bare ``HANGUP`` line, which may arrive before the reply to the
command in flight. The connection ending in the middle of any of this is an event too.

The codec keeps this as a small state table (below) and never touches a socket or a clock:
``receive_data(b"...")`` feeds bytes (``b""`` means end of stream), ``next_event()`` hands
out what those bytes completed, and ``send(command)`` checks the command may be sent now and
returns the bytes to write. The asyncio server (``ivr.server``) and the channel wrapper
(``ivr.channel``) are thin shells around it, so every protocol decision is unit-tested here.

    state     | input                    | event out            | next state
    ----------+--------------------------+----------------------+-----------
    HEADERS   | "agi_x: y" line          | (stored)             | HEADERS
    HEADERS   | empty line               | Environment          | IDLE
    HEADERS   | end of stream            | Closed(complete=F)   | CLOSED
    IDLE      | send(command)            | (bytes out)          | WAITING
    IDLE      | "HANGUP"                 | HangupNotice         | IDLE
    WAITING   | "2xx ..." / "510"/"511"  | Reply / ErrorReply   | IDLE
    WAITING   | "520-" ... "520 End..."  | ErrorReply(usage)    | IDLE
    WAITING   | "HANGUP"                 | HangupNotice         | WAITING
    any       | end of stream            | Closed               | CLOSED
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

MAX_LINE = 8192  # bytes; a longer line is a broken or hostile peer
MAX_HEADERS = 256


class ProtocolError(Exception):
    """The peer broke the AGI protocol (or the caller tried to); the connection must be closed."""


class State(enum.Enum):
    HEADERS = "headers"
    IDLE = "idle"
    WAITING = "waiting"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Environment:
    """The ``agi_*`` block Asterisk sends first, keys without the ``agi_`` prefix."""

    variables: Mapping[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.variables.get(name, default)

    @property
    def network_script(self) -> str:
        """What follows ``agi://host:port/`` in the dialplan, query string included."""
        return self.get("network_script")

    @property
    def script(self) -> str:
        """The route: the network script's path without its query string or slashes."""
        return urlsplit(self.network_script).path.strip("/")

    @property
    def params(self) -> dict[str, str]:
        """Query parameters of the network script (``outbound?call_id=...``)."""
        return dict(parse_qsl(urlsplit(self.network_script).query))

    @property
    def args(self) -> tuple[str, ...]:
        """``agi_arg_1``, ``agi_arg_2``... in order."""
        out: list[str] = []
        n = 1
        while f"arg_{n}" in self.variables:
            out.append(self.variables[f"arg_{n}"])
            n += 1
        return tuple(out)

    @property
    def caller_id(self) -> str:
        value = self.get("callerid")
        return "" if value.lower() == "unknown" else value

    @property
    def unique_id(self) -> str:
        return self.get("uniqueid")

    @property
    def channel(self) -> str:
        return self.get("channel")


@dataclass(frozen=True, slots=True)
class Reply:
    """A ``2xx result=...`` reply. ``data`` is the text in parentheses, ``extras`` the key=values."""

    code: int
    result: str
    data: str | None = None
    extras: Mapping[str, str] = field(default_factory=dict)

    @property
    def number(self) -> int | None:
        """The result as an integer, or None when it is not one (e.g. empty digits)."""
        try:
            return int(self.result)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """``510`` unknown command, ``511`` dead channel, ``520`` bad syntax (with its usage text)."""

    code: int
    message: str
    usage: tuple[str, ...] = ()

    @property
    def dead_channel(self) -> bool:
        return self.code == 511


@dataclass(frozen=True, slots=True)
class HangupNotice:
    """Asterisk's bare ``HANGUP`` line: the caller is gone; the reply in flight still comes."""


@dataclass(frozen=True, slots=True)
class Closed:
    """The stream ended. ``complete`` is False when it ended inside the header block or a reply."""

    complete: bool


class NeedData(enum.Enum):
    NEED_DATA = "need_data"


NEED_DATA = NeedData.NEED_DATA

Event = Environment | Reply | ErrorReply | HangupNotice | Closed

_REPLY = re.compile(r"^(?P<code>2\d\d) result=(?P<result>\S*)(?P<rest>.*)$")
_EXTRA = re.compile(r"(\w+)=(\S*)")
_SAFE_NAME = re.compile(r"^[A-Z][A-Z ]*[A-Z]$")


def quote_arg(value: str | int) -> str:
    """One command argument as Asterisk's AGI parser reads it back (quotes, backslashes).

    A line break or other control character could end the command early and smuggle in a
    second one, so it is refused rather than escaped.
    """
    text = str(value)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ProtocolError(f"control character in AGI argument {text!r}")
    if text and not any(ch in text for ch in ' "\\\t'):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_command(name: str, *args: str | int) -> bytes:
    """``STREAM FILE "prompt" "12"`` → the bytes of one command line."""
    if not _SAFE_NAME.match(name):
        raise ProtocolError(f"not an AGI command name: {name!r}")
    parts = [name, *(quote_arg(a) for a in args)]
    return (" ".join(parts) + "\n").encode()


def parse_reply(line: str) -> Reply | ErrorReply:
    """One complete reply line (not a ``520-`` block) to its event."""
    m = _REPLY.match(line)
    if m:
        rest = m.group("rest").strip()
        data: str | None = None
        if rest.startswith("("):
            close = rest.rfind(")")
            if close < 0:
                raise ProtocolError(f"unbalanced parenthesis in AGI reply {line!r}")
            data, rest = rest[1:close], rest[close + 1 :]
        return Reply(int(m.group("code")), m.group("result"), data, dict(_EXTRA.findall(rest)))
    code_text, _, message = line.partition(" ")
    if len(code_text) == 3 and code_text.isdigit() and code_text[0] in "45":
        return ErrorReply(int(code_text), message.strip())
    raise ProtocolError(f"not an AGI reply: {line!r}")


class AgiCodec:
    """One AGI connection's protocol state (see the module docstring for the table)."""

    def __init__(self) -> None:
        self.state = State.HEADERS
        self.hung_up = False  # a HANGUP notice arrived
        self._buffer = bytearray()
        self._eof = False
        self._headers: dict[str, str] = {}
        self._usage: list[str] | None = None  # inside a 520- block

    # -- input -------------------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Feed bytes read from the peer; ``b""`` is the end of the stream."""
        if self.state is State.CLOSED:
            return
        if data:
            self._buffer += data
        else:
            self._eof = True

    def next_event(self) -> Event | NeedData:
        """The next complete event, ``NEED_DATA`` if more bytes are needed, ``Closed`` at the end."""
        while True:
            if self.state is State.CLOSED:
                return Closed(complete=True)
            line = self._next_line()
            if line is None:
                if self._eof:
                    complete = self.state is State.IDLE and self._usage is None and not self._buffer
                    self.state = State.CLOSED
                    return Closed(complete=complete)
                return NEED_DATA
            event = self._on_line(line)
            if event is not None:
                return event

    def _next_line(self) -> str | None:
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > MAX_LINE:
                raise ProtocolError(f"AGI line longer than {MAX_LINE} bytes")
            return None
        if end > MAX_LINE:
            raise ProtocolError(f"AGI line longer than {MAX_LINE} bytes")
        raw = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return raw.decode("utf-8", errors="replace").rstrip("\r")

    def _on_line(self, line: str) -> Event | None:
        if self.state is State.HEADERS:
            return self._on_header(line)
        if line == "HANGUP":
            self.hung_up = True
            return HangupNotice()
        if self.state is not State.WAITING:
            raise ProtocolError(f"AGI reply with no command in flight: {line!r}")
        if self._usage is not None:
            if line.startswith("520 "):
                usage, self._usage = tuple(self._usage), None
                self.state = State.IDLE
                return ErrorReply(520, "Invalid command syntax", usage)
            self._usage.append(line)
            return None
        if line.startswith("520-"):
            self._usage = []
            return None
        if not line:
            return None  # stray blank lines between replies are harmless
        event = parse_reply(line)
        self.state = State.IDLE
        if isinstance(event, ErrorReply) and event.dead_channel:
            self.hung_up = True
        return event

    def _on_header(self, line: str) -> Environment | None:
        if not line:
            if not self._headers:
                return None  # leading blank lines before any header
            self.state = State.IDLE
            return Environment(dict(self._headers))
        name, sep, value = line.partition(":")
        if not sep or not name.startswith("agi_"):
            raise ProtocolError(f"not an AGI header: {line!r}")
        if len(self._headers) >= MAX_HEADERS:
            raise ProtocolError(f"more than {MAX_HEADERS} AGI headers")
        self._headers[name[4:]] = value.strip()
        return None

    # -- output ------------------------------------------------------------------------------
    def send(self, name: str, *args: str | int) -> bytes:
        """The bytes of a command; refused unless the environment is read and no reply is due."""
        if self.state is State.HEADERS:
            raise ProtocolError("cannot send an AGI command before the environment is read")
        if self.state is State.WAITING:
            raise ProtocolError("cannot send an AGI command while another awaits its reply")
        if self.state is State.CLOSED:
            raise ProtocolError("the AGI connection is closed")
        data = format_command(name, *args)
        self.state = State.WAITING
        return data
