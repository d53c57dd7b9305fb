"""Calls an agent dials from the desktop (preview or manual), on the platform's PBX.

The desktop API checks the compliance rules first (``agent_desktop_api.dialing``); this places
the call: a call row (mode ``manual``, so the rules see the attempt next time), the agent held
by the ACD (``hold_for_dial``), an originate without AMD (a person chose to call), and — when
the PBX reports the answer — the bridge to the agent's leg. Its own events keep the call row
up to date; the ACD follows the same events for the agent's state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from acd.ports import CallOffer
from acd.service import AcdService
from recobro.domain.calls import Call, advance
from recobro.domain.errors import Conflict, DomainError, InvalidTransition
from recobro.domain.events import CallAnswered, CallEnded, CallEvent, HangupCause
from recobro.domain.ids import CallId, new_call_id
from recobro.storage.repositories.calls import CallRepository
from recobro.telephony.clock import Clock
from recobro.telephony.port import OriginateRequest, TelephonyPort

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Manual:
    call: Call
    agent_id: int
    leg: str


class ManualDialer:
    def __init__(self, *, acd: AcdService, port: TelephonyPort, calls: CallRepository, clock: Clock,
                 caller_id: Callable[[int], str], ring_timeout: float = 25.0) -> None:
        self._acd = acd
        self._port = port
        self._calls = calls
        self._clock = clock
        self._caller_id = caller_id
        self._ring = ring_timeout
        self._live: dict[str, _Manual] = {}

    async def dial(self, *, agent_id: int, account_id: int, number: str, campaign_id: int) -> str:
        call = Call(new_call_id(), queued_at=self._clock.now())
        profile = await self._acd.hold_for_dial(agent_id, CallOffer(call.id, campaign_id, account_id, number))
        self._live[call.id] = _Manual(call, agent_id, profile.leg)
        try:
            await self._calls.insert(call, campaign_id=campaign_id, account_id=account_id, number=number,
                                     mode="manual", wall=self._wall)
            await self._port.originate(OriginateRequest(
                call_id=call.id, number=number, caller_id=self._caller_id(campaign_id), ring_timeout=self._ring,
                amd=False, variables={"CAMPAIGN": str(campaign_id), "ACCOUNT": str(account_id), "MANUAL": "1"}))
        except (DomainError, OSError) as exc:
            self._acd.release_dial(agent_id, call.id)
            await self.handle(CallEnded(call.id, self._clock.now(), HangupCause.FAILED, str(exc)[:100]))
            raise Conflict(f"la central rechazó la llamada / the PBX refused the call: {exc}",
                           code="dial_failed") from exc
        return call.id

    async def handle(self, event: CallEvent) -> None:
        """A port event; only the calls dialed here are looked at."""
        held = self._live.get(event.call_id)
        if held is None:
            return
        try:
            held.call = advance(held.call, event)
        except InvalidTransition as exc:
            log.debug("manual call %s: %s", event.call_id, exc)
            return
        if isinstance(event, CallEnded):
            self._live.pop(event.call_id, None)
        try:
            await self._calls.save(held.call, agent_id=held.agent_id, wall=self._wall)
        except Exception:  # the call goes on; its row is a record, not the call
            log.exception("manual call %s: row not saved", event.call_id)
        if isinstance(event, CallAnswered):
            try:
                await self._port.connect_to_agent(CallId(event.call_id), held.leg)
            except (DomainError, OSError) as exc:
                log.info("manual call %s: bridge failed: %s", event.call_id, exc)

    def _wall(self, at: float | None) -> datetime | None:
        if at is None:
            return None
        return self._clock.wall() - timedelta(seconds=self._clock.now() - at)
