"""A thin asyncio client around the AMI codec: connect, log in, correlate, ping, reconnect.

Theory of operation. One supervisor task owns the link. It connects, reads the banner, logs
in, then puts ``LinkUp`` on the stream and runs a reader and a pinger until the link fails
(EOF, a socket error, a ping with no ``Ping: Pong`` reply in time). Then it puts
``LinkDown`` on the stream, waits a backoff that doubles up to a ceiling, and starts again.
The stream (``stream()``) carries Asterisk's events and those link markers in the order
they happened, so a consumer sees every event of the old link before ``LinkDown``.

Actions are correlated by ActionID (``codec.ActionIds``). Each has a timeout. An action whose
link drops before its response arrives *fails* with ``AmiLinkLost``; it is never re-sent,
because the client cannot know whether Asterisk executed it (a re-sent Originate is a second
call to the same debtor). An action sent while the link is down fails at once with
``AmiNotConnected`` and nothing was written. Event-list actions (CoreShowChannels) collect
their item events until the list's completion event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field

from recobro.domain.errors import DomainError
from recobro.telephony.ami.codec import ActionIds, Kind, Message, Parser, ProtocolError, is_banner, make_action

log = logging.getLogger(__name__)

Fields = Mapping[str, str] | Iterable[tuple[str, str]]


class AmiError(DomainError):
    """Asterisk answered an action with ``Response: Error`` (or the action failed another way)."""

    code = "ami_error"

    def __init__(self, message: str, *, response: Message | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.response = response


class AmiTimeout(AmiError):
    code = "ami_timeout"


class AmiLinkLost(AmiError):
    """The link dropped after the action was written and before its response: its fate is unknown."""

    code = "ami_link_lost"


class AmiNotConnected(AmiError):
    """No link to Asterisk right now; the action was not written."""

    code = "ami_not_connected"


class AmiLoginFailed(AmiError):
    code = "ami_login_failed"


@dataclass(frozen=True, slots=True)
class LinkUp:
    """Logged in (again). ``first`` is False after a reconnect: live calls need reconciling."""

    first: bool
    version: str = ""


@dataclass(frozen=True, slots=True)
class LinkDown:
    reason: str


StreamItem = Message | LinkUp | LinkDown


@dataclass(frozen=True, slots=True)
class AmiConfig:
    host: str = "127.0.0.1"
    port: int = 5038
    user: str = "recobro"
    secret: str = ""
    action_timeout: float = 5.0
    connect_timeout: float = 5.0
    ping_interval: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 10.0
    events: str = "on"  # the Login "Events" value: on, off, or classes such as "call,user,dialplan"


def backoff_delays(initial: float, ceiling: float) -> Iterable[float]:
    """The waits between reconnect attempts: initial, doubling, never above ``ceiling``."""
    delay = initial
    while True:
        yield delay
        delay = min(delay * 2, ceiling)


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[Message]
    list_end: str | None = None  # the completion event of an event-list action
    items: list[Message] = field(default_factory=list)
    response: Message | None = None


class AmiClient:
    """One AMI session kept alive; see the module docstring for the rules."""

    def __init__(self, config: AmiConfig, *, ids: ActionIds | None = None) -> None:
        self.config = config
        self._ids = ids or ActionIds()
        self._pending: dict[str, _Pending] = {}
        self._stream: asyncio.Queue[StreamItem | None] = asyncio.Queue()
        self._writer: asyncio.StreamWriter | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._banner: asyncio.Future[Message] | None = None
        self._held: list[Message] | None = None  # events read during login, queued after LinkUp
        self._up = asyncio.Event()
        self._closed = False
        self._logins = 0
        self.version = ""

    # --- life -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and log in once (errors raise here), then keep the link up in the background."""
        if self._supervisor is not None:
            raise AmiError("el cliente AMI ya inició / AMI client already started")
        await self._open()
        self._supervisor = asyncio.create_task(self._supervise(), name="ami-supervisor")

    async def close(self) -> None:
        """Log off, stop reconnecting, fail what is pending and end the stream."""
        if self._closed:
            return
        self._closed = True  # from here on a dropped link is not news and is not re-opened
        if self._writer is not None and self._up.is_set():
            with contextlib.suppress(AmiError, OSError):
                await self.send("Logoff", timeout=min(1.0, self.config.action_timeout))
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        self._drop_link("client closed")
        self._stream.put_nowait(None)

    @property
    def connected(self) -> bool:
        return self._up.is_set()

    async def wait_connected(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._up.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stream(self) -> AsyncIterator[StreamItem]:
        """Events and link markers, in order, until close()."""
        while True:
            item = await self._stream.get()
            if item is None:
                self._stream.put_nowait(None)
                return
            yield item

    # --- actions ----------------------------------------------------------------------------

    def next_action_id(self) -> str:
        """An ActionID to pass to ``send`` when the caller must know it first (Originate)."""
        return next(self._ids)

    async def send(
        self, action: str, fields: Fields = (), *, timeout: float | None = None, action_id: str | None = None
    ) -> Message:
        """Send an action and return its response; raise AmiError on ``Response: Error``."""
        pending = await self._submit(action, fields, None, timeout, action_id)
        return pending.response or pending.future.result()

    async def send_list(
        self, action: str, complete: str, fields: Fields = (), *, timeout: float | None = None
    ) -> list[Message]:
        """An event-list action: the item events up to (not including) the ``complete`` event."""
        pending = await self._submit(action, fields, complete, timeout)
        return pending.items

    async def ping(self) -> None:
        """Ping, and insist on a real ``Ping: Pong`` reply (a bare Success is not a live Asterisk)."""
        reply = await self.send("Ping")
        if (reply.get("Ping") or "").lower() != "pong":
            raise AmiError(f"respuesta de ping inválida / bad ping reply: {reply!r}", response=reply)

    async def _submit(
        self, action: str, fields: Fields, list_end: str | None, timeout: float | None, action_id: str | None = None
    ) -> _Pending:
        action_id = action_id or next(self._ids)
        if action_id in self._pending:
            raise AmiError(f"ActionID {action_id} is already pending")
        message = make_action(action, action_id, fields)  # validates before anything is written
        writer = self._writer
        if writer is None or not self._up.is_set() or writer.is_closing():
            raise AmiNotConnected(f"sin conexión con Asterisk / not connected to Asterisk ({action} not sent)")
        pending = _Pending(asyncio.get_running_loop().create_future(), list_end=list_end)
        self._pending[action_id] = pending
        try:
            writer.write(message.encode())
            async with asyncio.timeout(timeout if timeout is not None else self.config.action_timeout):
                await writer.drain()
                await pending.future
        except TimeoutError:
            raise AmiTimeout(
                f"Asterisk no respondió a tiempo / no answer from Asterisk in time ({action} {action_id})",
            ) from None
        except (ConnectionError, OSError) as exc:
            raise AmiLinkLost(f"se perdió la conexión / link lost during {action}: {exc}") from exc
        finally:
            self._pending.pop(action_id, None)
        return pending

    # --- the link ---------------------------------------------------------------------------

    async def _open(self) -> None:
        """Connect, read the banner, log in; the link is up when this returns."""
        cfg = self.config
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(cfg.host, cfg.port), cfg.connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise AmiNotConnected(
                f"no se pudo conectar a Asterisk / cannot connect to Asterisk at {cfg.host}:{cfg.port}: {exc}"
            ) from exc
        loop = asyncio.get_running_loop()
        self._banner = loop.create_future()
        self._held = []
        self._reader_task = asyncio.create_task(self._read(reader, Parser()), name="ami-reader")
        try:
            try:
                async with asyncio.timeout(cfg.connect_timeout):
                    banner = await self._banner
            except TimeoutError:
                raise AmiNotConnected("Asterisk no envió el saludo AMI / no AMI banner from Asterisk") from None
            if not is_banner(banner):
                raise AmiNotConnected(f"no es AMI / not an AMI server: {banner.banner[:80]!r}")
            self.version = banner.banner
            self._writer = writer
            self._up.set()  # so that Login can be sent; cleared again if it fails
            try:
                await self.send("Login", {"Username": cfg.user, "Secret": cfg.secret, "Events": cfg.events})
            except AmiLinkLost as exc:
                raise AmiNotConnected(f"Asterisk cerró la conexión / link lost during login: {exc.message}") from exc
            except AmiError as exc:
                raise AmiLoginFailed(
                    f"Asterisk rechazó el inicio de sesión AMI / AMI login refused for {cfg.user!r}: {exc.message}"
                ) from exc
        except BaseException:
            self._up.clear()
            self._writer = None
            self._held = None
            self._reader_task.cancel()
            writer.close()
            raise
        self._logins += 1
        self._stream.put_nowait(LinkUp(first=self._logins == 1, version=self.version))
        held, self._held = self._held or [], None
        for message in held:
            self._stream.put_nowait(message)

    async def _read(self, reader: asyncio.StreamReader, parser: Parser) -> None:
        """Read until EOF; dispatch responses to their actions and everything else to the stream."""
        while True:
            data = await reader.read(65536)
            if not data:
                if self._banner is not None and not self._banner.done():
                    self._banner.set_exception(
                        AmiNotConnected("Asterisk cerró la conexión / closed before the AMI banner")
                    )
                return
            for message in parser.feed(data):
                if message.kind is Kind.BANNER:
                    if self._banner is not None and not self._banner.done():
                        self._banner.set_result(message)
                    continue
                self._dispatch(message)

    def _dispatch(self, message: Message) -> None:
        action_id = message.action_id
        pending = self._pending.get(action_id) if action_id is not None else None
        if pending is not None and not pending.future.done():
            if message.kind is Kind.RESPONSE:
                if not message.ok:
                    error = AmiError(message.get("Message") or message.name or "error", response=message)
                    pending.future.set_exception(error)
                elif pending.list_end is None or (message.get("EventList") or "").lower() != "start":
                    pending.future.set_result(message)
                else:
                    pending.response = message
                return
            if pending.list_end is not None and pending.response is not None and message.kind is Kind.EVENT:
                if message.is_event(pending.list_end) or (message.get("EventList") or "").lower() == "complete":
                    pending.future.set_result(pending.response)
                else:
                    pending.items.append(message)
                return
        if message.kind is Kind.EVENT:
            if self._held is not None:
                self._held.append(message)
            else:
                self._stream.put_nowait(message)
        elif message.kind is Kind.RESPONSE:
            log.debug("AMI response with no pending action (late or foreign): %r", message)

    async def _supervise(self) -> None:
        while not self._closed:
            reason = await self._hold()
            self._drop_link(reason)
            delays = iter(backoff_delays(self.config.backoff_initial, self.config.backoff_max))
            while not self._closed:
                await asyncio.sleep(next(delays))
                try:
                    await self._open()
                    break
                except AmiError as exc:
                    log.warning("AMI reconnect failed: %s", exc.message)

    async def _hold(self) -> str:
        """Keep the link until it fails; return why it failed."""
        reader_task = self._reader_task
        assert reader_task is not None
        while True:
            done, _ = await asyncio.wait({reader_task}, timeout=self.config.ping_interval)
            if done:
                exc = reader_task.exception() if not reader_task.cancelled() else None
                if isinstance(exc, ProtocolError):
                    return f"protocol error: {exc.message}"
                return f"connection closed ({exc})" if exc else "connection closed by Asterisk"
            try:
                await self.ping()
            except AmiError as exc:
                return f"ping failed: {exc.message}"

    def _drop_link(self, reason: str) -> None:
        """Mark the link down, close it, fail every pending action (never re-sent)."""
        was_up = self._up.is_set()
        self._up.clear()
        writer, self._writer = self._writer, None
        task = self._reader_task
        if task is not None and not task.done():
            task.cancel()
        if writer is not None:
            writer.close()
        for action_id, pending in list(self._pending.items()):
            if not pending.future.done():
                pending.future.set_exception(
                    AmiLinkLost(f"se perdió la conexión con Asterisk / AMI link lost ({reason}); action {action_id}")
                )
        if was_up and not self._closed:
            log.warning("AMI link down: %s", reason)
            self._stream.put_nowait(LinkDown(reason))
