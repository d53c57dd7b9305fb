"""Agents' legs on a real PBX: each logged-in agent's softphone sits in their own ConfBridge.

On Asterisk a connect is a redirect of the debtor into the agent's bridge (no ring), so the
agent's phone must already be there while they work. This keeper follows the ACD's state
messages on the bus (``agent.<id>``, what a desktop hears): a log-in calls the agent's phone
into ``recobro-agent-<extension>``; a log-out hangs that leg up. Every ``check_every`` seconds,
and at once after the PBX link comes back (``PortUp``: a restarted Asterisk lost every bridge),
it asks the PBX which logged-in agents are missing from their bridge and calls them again. It
never calls an agent whose leg is still ringing (``ring_timeout``), and it asks before calling,
so an AMI reconnect that found the agents still seated does not put a second leg of theirs
into a two-member bridge.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from acd.service import AcdService
from recobro.bus import LocalBus
from recobro.domain.errors import DomainError
from recobro.domain.events import CallEvent, PortUp
from recobro.telephony.clock import Clock

log = logging.getLogger(__name__)


class AgentLegs(Protocol):
    """What the keeper needs of the PBX port (``AmiTelephony``)."""

    @property
    def ready(self) -> bool: ...

    async def start_agent_session(self, agent: str, dial: str, *, ring_timeout: float = 20.0) -> None: ...

    async def agent_session_channels(self, agent: str) -> list[str]: ...

    async def stop_agent_session(self, agent: str) -> int: ...


def default_agent_dial(extension: str) -> str:
    """The agent's registered softphone (pjsip.conf endpoint ``agent-<extension>``)."""
    return f"PJSIP/agent-{extension}"


class AgentSessions:
    """See the module docstring; ``run`` is the task, ``handle`` takes the port's events."""

    def __init__(
        self,
        port: AgentLegs,
        acd: AcdService,
        bus: LocalBus,
        clock: Clock,
        *,
        dial: Callable[[str], str] = default_agent_dial,
        check_every: float = 2.0,
        ring_timeout: float = 20.0,
    ) -> None:
        self._port = port
        self._acd = acd
        self._bus = bus
        self._clock = clock
        self._dial = dial
        self._check_every = check_every
        self._ring_timeout = ring_timeout
        self._ringing_until: dict[int, float] = {}  # agent id -> when a leg still ringing gives up
        self._seated: set[int] = set()
        self._wake = asyncio.Event()
        self.subscribed = asyncio.Event()
        self.calls_made = 0

    def extension(self, agent_id: int) -> str:
        """The agent's extension at the PBX (their bridge's name and the connect's target)."""
        for profile in self._acd.profiles():
            if profile.id == agent_id:
                return profile.leg
        raise KeyError(agent_id)

    async def handle(self, event: CallEvent) -> None:
        if isinstance(event, PortUp):
            self._seated.clear()
            self._ringing_until.clear()  # the legs that rang died with the old link's Asterisk
            self._wake.set()

    async def run(self) -> None:
        async with self._bus.subscribe("agent.*") as sub:
            self.subscribed.set()
            next_check = self._clock.now()
            while True:
                timeout = max(0.0, next_check - self._clock.now())
                getter = asyncio.ensure_future(sub.get())
                waker = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait({getter, waker}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in (getter, waker):
                        if not task.done():
                            task.cancel()
                if getter.done() and not getter.cancelled():
                    _, message = getter.result()
                    await self._on_state(message)
                if self._wake.is_set() or self._clock.now() >= next_check:
                    self._wake.clear()
                    await self.check_all()
                    next_check = self._clock.now() + self._check_every

    async def _on_state(self, message: dict[str, object]) -> None:
        if message.get("type") != "state":
            return
        agent_id = message.get("agent_id")
        if not isinstance(agent_id, int):
            return
        if message.get("state") == "logged_out":
            await self.stop(agent_id)
        elif agent_id not in self._seated:
            await self.ensure(agent_id)

    async def check_all(self) -> None:
        """Call every logged-in agent missing from their bridge (a dropped phone, a restarted PBX)."""
        for profile in self._acd.profiles():
            if self._acd.status(profile.id).logged_in:
                self._seated.discard(profile.id)
                await self.ensure(profile.id)

    async def ensure(self, agent_id: int) -> None:
        """The agent's leg in their bridge: nothing if it is there or ringing, else call it."""
        if not self._port.ready or not self._acd.status(agent_id).logged_in:
            return
        if self._clock.now() < self._ringing_until.get(agent_id, float("-inf")):
            return
        try:
            extension = self.extension(agent_id)
            if await self._port.agent_session_channels(extension):
                self._seated.add(agent_id)
                self._ringing_until.pop(agent_id, None)
                return
            self._ringing_until[agent_id] = self._clock.now() + self._ring_timeout + 2.0
            await self._port.start_agent_session(extension, self._dial(extension), ring_timeout=self._ring_timeout)
            self.calls_made += 1
        except (DomainError, OSError, KeyError) as exc:
            log.warning("agent %s: session not started: %s", agent_id, exc)

    async def stop(self, agent_id: int) -> None:
        """Hang up the agent's leg (log-out)."""
        self._seated.discard(agent_id)
        self._ringing_until.pop(agent_id, None)
        if not self._port.ready:
            return
        try:
            await self._port.stop_agent_session(self.extension(agent_id))
        except (DomainError, OSError, KeyError) as exc:
            log.warning("agent %s: session not stopped: %s", agent_id, exc)

    async def stop_all(self) -> None:
        """Every known agent's leg hung up (the platform stops)."""
        for profile in self._acd.profiles():
            await self.stop(profile.id)

    async def wait_seated(self, agent_ids: Iterable[int], timeout: float) -> bool:
        """True once each agent's leg is in their bridge; False after ``timeout`` seconds."""
        wanted = set(agent_ids)
        deadline = self._clock.now() + timeout
        while True:
            missing = []
            for agent_id in wanted:
                try:
                    if not await self._port.agent_session_channels(self.extension(agent_id)):
                        missing.append(agent_id)
                except (DomainError, OSError, KeyError):
                    missing.append(agent_id)
            if not missing:
                return True
            if self._clock.now() >= deadline:
                log.warning("agents %s are not in their bridges after %.0f s", sorted(missing), timeout)
                return False
            await self._clock.sleep(0.1)
