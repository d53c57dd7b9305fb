"""A sans-I/O codec for the Asterisk Manager Interface (AMI): bytes in, messages out; an action in, bytes out.

No sockets, no asyncio, no clock: ``client.py`` owns the I/O, this module owns the wire format,
so every byte Asterisk ever sent us can be replayed here in a unit test (tests/fixtures/ami).

Theory of operation. AMI is a line protocol over TCP. On connect the server sends one banner
line, ``Asterisk Call Manager/<version>``. After that every message is a block of
``Key: Value`` lines ended by CRLF, and a block ends with an empty line. The first key says
what the block is: ``Response:`` (the answer to an action, correlated by ``ActionID``) or
``Event:``. Keys repeat (``ChanVariable``, ``Output``), so a message is an *ordered list* of
pairs with case-insensitive lookup, never a dict. Old servers answer ``Command`` with
``Response: Follows`` and then raw text lines (empty ones included) up to ``--END COMMAND--``;
those lines are kept as ``output`` instead of being taken for headers or for the end.

    state           line                         next state
    BANNER          any                          HEADERS (the banner is a message of its own)
    HEADERS         ""                           HEADERS (a message is complete, if it had lines)
    HEADERS         "Response: Follows" (first)  FOLLOWS_HEADERS
    HEADERS         other                        HEADERS (one more header; a line with no
                                                 "Key:" is kept as output, not lost)
    FOLLOWS_HEADERS "Privilege:" / "ActionID:"   FOLLOWS_HEADERS (one more header)
    FOLLOWS_HEADERS other                        FOLLOWS (and that line is handled there)
    FOLLOWS         ends with "--END COMMAND--"  HEADERS (message complete after the next "")
    FOLLOWS         other (even "")              FOLLOWS (one more output line)

Framing is done on bytes: a line is cut at b"\\n" (UTF-8 never uses that byte inside a
multibyte character) and decoded only once it is whole, so a name like "José Núñez" split
across two TCP reads is decoded exactly as if it came in one. Bytes that are not UTF-8 are
replaced (U+FFFD), never fatal: a carrier may send Latin-1 caller names.

Encoding refuses anything that could break the framing: a value holding CR, LF or another
control character, a key that is not a plain token, an overlong value. A debtor named
``"x\\r\\nAction: Hangup"`` is a ValidationError here, never a second action on the wire.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from recobro.domain.errors import DomainError, ValidationError
from recobro.domain.text import has_control_chars

#: Longest value put into an action (a channel variable, a caller id, a dial string).
MAX_VALUE = 512
#: Longest line accepted from the server; a longer one means the stream is not AMI.
MAX_LINE = 64 * 1024
#: Most lines in one message (a CoreShowChannel has ~20; Command output may have hundreds).
MAX_LINES = 10_000

BANNER_PREFIX = "Asterisk Call Manager/"
END_COMMAND = "--END COMMAND--"

_FOLLOWS_HEADERS = frozenset({"privilege", "actionid"})
_TOKEN_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")


class ProtocolError(DomainError):
    """The byte stream from the server is not AMI (an overlong line or message)."""

    code = "ami_protocol"


class Kind(enum.StrEnum):
    BANNER = "banner"
    RESPONSE = "response"
    EVENT = "event"
    OTHER = "other"  # a block whose first key is neither Response nor Event (kept, not fatal)


@dataclass(frozen=True, slots=True)
class Message:
    """One AMI message: ordered headers, case-insensitive lookup, and raw output lines if any."""

    kind: Kind
    headers: tuple[tuple[str, str], ...] = ()
    output: tuple[str, ...] = ()  # "Response: Follows" payload, or lines that were not "Key: Value"
    banner: str = ""  # the banner line, for Kind.BANNER

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key`` (any case), or ``default``."""
        wanted = key.lower()
        for name, value in self.headers:
            if name.lower() == wanted:
                return value
        return default

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def get_all(self, key: str) -> list[str]:
        """Every value of a repeated key, in order."""
        wanted = key.lower()
        return [value for name, value in self.headers if name.lower() == wanted]

    @property
    def name(self) -> str:
        """The event name, or the response status (Success, Error, Follows, Goodbye)."""
        if self.kind is Kind.EVENT:
            return self.get("Event", "") or ""
        if self.kind is Kind.RESPONSE:
            return self.get("Response", "") or ""
        return ""

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def is_event(self, name: str) -> bool:
        return self.kind is Kind.EVENT and self.name.lower() == name.lower()

    @property
    def ok(self) -> bool:
        """A response that reports success (Success, Follows, Goodbye)."""
        return self.kind is Kind.RESPONSE and self.name.lower() in ("success", "follows", "goodbye")

    def chan_variables(self, prefix: str = "") -> dict[str, str]:
        """``ChanVariable: NAME=value`` headers (``manager.conf`` channelvars) as a dict.

        ``prefix`` picks another channel of the same event, e.g. ``Dest`` for DialEnd.
        """
        found: dict[str, str] = {}
        for value in self.get_all(f"{prefix}ChanVariable"):
            name, sep, rest = value.partition("=")
            if sep:
                found[name.strip()] = rest
        return found

    def __repr__(self) -> str:  # compact, for test failures and logs
        if self.kind is Kind.BANNER:
            return f"Message(banner={self.banner!r})"
        pairs = ", ".join(f"{k}={v!r}" for k, v in self.headers[:6])
        more = "…" if len(self.headers) > 6 else ""
        return f"Message({self.kind.value}: {pairs}{more})"


class _State(enum.Enum):
    BANNER = "banner"
    HEADERS = "headers"
    FOLLOWS_HEADERS = "follows_headers"  # after "Response: Follows": Privilege, ActionID
    FOLLOWS = "follows"
    AFTER_FOLLOWS = "after_follows"


class Parser:
    """Bytes from the server in, complete messages out. Feed it whatever each read returned."""

    def __init__(self, *, expect_banner: bool = True) -> None:
        self._buffer = bytearray()
        self._state = _State.BANNER if expect_banner else _State.HEADERS
        self._headers: list[tuple[str, str]] = []
        self._output: list[str] = []

    def feed(self, data: bytes) -> list[Message]:
        """Take the next bytes; return the messages they completed (maybe none)."""
        self._buffer += data
        messages: list[Message] = []
        start = 0
        while True:
            end = self._buffer.find(b"\n", start)
            if end < 0:
                break
            raw = bytes(self._buffer[start:end])
            start = end + 1
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            message = self._line(raw.decode("utf-8", errors="replace"))
            if message is not None:
                messages.append(message)
        del self._buffer[:start]
        if len(self._buffer) > MAX_LINE:
            raise ProtocolError(f"AMI line longer than {MAX_LINE} bytes")
        return messages

    @property
    def pending(self) -> bool:
        """True if part of a message has been read (a connection that drops now cut a message)."""
        return bool(self._buffer or self._headers or self._output)

    def _line(self, line: str) -> Message | None:
        if self._state is _State.BANNER:
            self._state = _State.HEADERS
            return Message(Kind.BANNER, banner=line)
        if self._state is _State.FOLLOWS_HEADERS:
            name, sep, value = line.partition(":")
            if sep and name.strip().lower() in _FOLLOWS_HEADERS:
                self._add_header(name.strip(), value)
                return None
            self._state = _State.FOLLOWS
        if self._state is _State.FOLLOWS:
            if line.endswith(END_COMMAND):
                head = line[: -len(END_COMMAND)]
                if head:
                    self._add_output(head)
                self._state = _State.AFTER_FOLLOWS
            else:
                self._add_output(line)
            return None
        if line == "":
            return self._finish()
        if self._state is _State.AFTER_FOLLOWS:  # tolerate stray text before the closing blank line
            self._add_output(line)
            return None
        name, sep, value = line.partition(":")
        name = name.strip()
        if not sep or not name or " " in name:
            self._add_output(line)  # not a header: keep the text, do not lose the message
            return None
        self._add_header(name, value)
        if len(self._headers) == 1 and name.lower() == "response" and self._headers[0][1].strip().lower() == "follows":
            self._state = _State.FOLLOWS_HEADERS
        return None

    def _add_header(self, name: str, value: str) -> None:
        if len(self._headers) + len(self._output) >= MAX_LINES:
            raise ProtocolError(f"AMI message longer than {MAX_LINES} lines")
        self._headers.append((name, value[1:] if value.startswith(" ") else value))

    def _add_output(self, line: str) -> None:
        if len(self._headers) + len(self._output) >= MAX_LINES:
            raise ProtocolError(f"AMI message longer than {MAX_LINES} lines")
        self._output.append(line)

    def _finish(self) -> Message | None:
        self._state = _State.HEADERS
        if not self._headers and not self._output:
            return None  # blank lines between messages
        first = self._headers[0][0].lower() if self._headers else ""
        kind = {"response": Kind.RESPONSE, "event": Kind.EVENT}.get(first, Kind.OTHER)
        message = Message(kind, tuple(self._headers), tuple(self._output))
        self._headers = []
        self._output = []
        return message


# --- actions ------------------------------------------------------------------------------

Fields = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Action:
    """An AMI action ready for the wire: its name, validated fields in order, and its ActionID."""

    name: str
    action_id: str
    fields: tuple[tuple[str, str], ...] = ()

    def encode(self) -> bytes:
        lines = [f"Action: {self.name}", f"ActionID: {self.action_id}"]
        lines += [f"{key}: {value}" for key, value in self.fields]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    def get(self, key: str) -> str | None:
        wanted = key.lower()
        return next((v for k, v in self.fields if k.lower() == wanted), None)


def check_value(value: str, *, field: str, max_len: int = MAX_VALUE) -> str:
    """A value safe on the wire: a str with no CR, LF or other control character, bounded."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text, got {type(value).__name__}", field=field, value=value)
    if has_control_chars(value):
        raise ValidationError(
            f"{field} contiene caracteres de control / {field} contains control characters", field=field, value=value
        )
    if len(value) > max_len:
        raise ValidationError(
            f"{field} excede {max_len} caracteres / {field} is longer than {max_len} characters",
            field=field,
            value=value,
        )
    return value


def check_token(name: str, *, field: str) -> str:
    """An action name or a header key: an ASCII letter, then letters, digits, '_' or '-' (64 max)."""
    if not isinstance(name, str) or not _TOKEN_RE.match(name):
        raise ValidationError(
            f"{field} no es un nombre AMI válido / {field} is not a valid AMI name: {name!r}", field=field, value=name
        )
    return name


def make_action(name: str, action_id: str, fields: Fields = ()) -> Action:
    """Validate every part of an action; ``fields`` may repeat keys (``Variable``) if given as pairs."""
    check_token(name, field="action")
    check_value(action_id, field="ActionID", max_len=64)
    if not action_id:
        raise ValidationError("ActionID vacío / empty ActionID", field="ActionID")
    pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
    checked: list[tuple[str, str]] = []
    for key, value in pairs:
        check_token(key, field="field")
        if key.lower() in ("action", "actionid"):
            raise ValidationError(f"{key} is set by the codec", field=key)
        checked.append((key, check_value(value, field=key)))
    return Action(name, action_id, tuple(checked))


def encode_action(name: str, action_id: str, fields: Fields = ()) -> bytes:
    """Validate and serialize in one step."""
    return make_action(name, action_id, fields).encode()


def variable_fields(variables: Mapping[str, str]) -> list[tuple[str, str]]:
    """``Variable: NAME=value`` pairs for Originate/Setvar, with each name and value checked."""
    pairs: list[tuple[str, str]] = []
    for key, value in variables.items():
        if not isinstance(key, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", key):
            raise ValidationError(f"bad channel variable name {key!r}", field="variable", value=key)
        pairs.append(("Variable", f"{key}={check_value(value, field=key)}"))
    return pairs


class ActionIds:
    """ActionIDs unique to one client instance: a random prefix and a counter.

    The prefix keeps ids from an earlier connection (or another client on the same Asterisk)
    from ever matching ours; the counter never repeats within the instance.
    """

    def __init__(self, prefix: str | None = None) -> None:
        self.prefix = check_value(prefix if prefix is not None else secrets.token_hex(4), field="prefix", max_len=32)
        self._next = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        self._next += 1
        return f"{self.prefix}-{self._next}"


def parse_all(data: bytes, *, expect_banner: bool = True) -> list[Message]:
    """Every complete message in ``data`` (a whole transcript)."""
    return Parser(expect_banner=expect_banner).feed(data)


def is_banner(message: Message) -> bool:
    return message.kind is Kind.BANNER and message.banner.startswith(BANNER_PREFIX)


def banner_version(message: Message) -> str:
    """The AMI version in the banner ("11.0.0"), or "" if it is not Asterisk's banner."""
    return message.banner[len(BANNER_PREFIX) :].strip() if is_banner(message) else ""


__all__: Sequence[str] = (
    "Action",
    "ActionIds",
    "Kind",
    "Message",
    "Parser",
    "ProtocolError",
    "banner_version",
    "check_token",
    "check_value",
    "encode_action",
    "is_banner",
    "make_action",
    "parse_all",
    "variable_fields",
)
