"""The IVR inside ``recobro serve``: its FastAGI server on the platform's database, the ACD as
the IVR's ``AgentDesk``, and the IVR's outcomes handed to the campaign engine.

``ivr`` and ``acd`` never import each other (``ivr.ports`` declares what the IVR needs), so the
adapter lives here, in the composition root:

* ``availability``: agents of the caller's campaign are logged in -> open, with a wait estimated
  from the floor (ready agents take callers at once; a busy agent frees after the rest of a
  typical talk and wrap-up); nobody logged in -> closed (the IVR offers a callback).
* ``reserve``: the caller is offered to the ACD with the account's skills, like a person from the
  dialer, but without a bridge through the telephony port (``AcdService.offer(bridge=False)``):
  the IVR's own AGI channel joins the agent's ConfBridge (``recobro-agent-<leg>``, where the
  platform keeps a working agent seated). The agent is put on the call at once (the screen pop)
  since the caller joins the bridge as soon as the target is returned.
* ``release``: the caller left the bridge (or never got in): the agent goes to wrap-up.

A campaign the floor does not work (no agent logged in for it) falls back to the platform's own
campaign, so an inbound caller of another campaign still reaches the agents on duty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from acd.ports import AgentProfile, CallOffer
from acd.service import AcdService
from dialer.engine import CampaignEngine
from ivr.app import IvrApp
from ivr.flows.model import CampaignView, Credential, DebtorView
from ivr.ports import AgentRequest, AgentTarget, Availability, CallContext, IvrEvent, IvrStore
from ivr.prompts.cache import PromptCache
from ivr.prompts.tts import EspeakEngine
from ivr.server import FastAgiServer
from recobro.domain.errors import ValidationError
from recobro.domain.events import CallBridged, CallEnded, HangupCause
from recobro.domain.ids import CallId
from recobro.runtime.settings import Settings
from recobro.telephony.clock import Clock

log = logging.getLogger(__name__)

TALK_SECONDS = 180.0  # a typical collections talk, until the floor has measured its own
WRAP_SECONDS = 30.0
DEBTOR_PROFILE = "recobro-agent-bridge,recobro-debtor"  # confbridge.conf: bridge and user profiles


def estimated_wait(ready: int, busy_remaining: Sequence[float], ahead: int, cycle_seconds: float) -> float | None:
    """Seconds until an agent is free for a caller with ``ahead`` callers already waiting.

    The ``ready`` agents take the first callers at once; then each busy agent frees after its
    ``busy_remaining`` seconds, and again every ``cycle_seconds`` (talk plus wrap-up) after that.
    None when nobody could ever take the caller (no agent ready nor busy).
    """
    position = ahead - ready
    if position < 0:
        return 0.0
    if not busy_remaining:
        return None
    remaining = sorted(max(0.0, r) for r in busy_remaining)
    rounds, index = divmod(position, len(remaining))
    return remaining[index] + rounds * cycle_seconds


def agent_conference(profile: AgentProfile) -> AgentTarget:
    """The agent's own ConfBridge, where ``AgentSessions`` keeps their phone while they work."""
    return AgentTarget("confbridge", f"recobro-agent-{profile.leg}", DEBTOR_PROFILE)


class AcdAgentDesk:
    """The ACD as the IVR's ``AgentDesk`` (see the module docstring)."""

    def __init__(
        self,
        acd: AcdService,
        clock: Clock,
        *,
        default_campaign: int,
        target: Callable[[AgentProfile], AgentTarget] = agent_conference,
        talk_seconds: float = TALK_SECONDS,
        wrap_seconds: float = WRAP_SECONDS,
    ) -> None:
        self._acd = acd
        self._clock = clock
        self._default = default_campaign
        self._target = target
        self._talk = talk_seconds
        self._wrap = wrap_seconds
        self._waiting = 0  # IVR callers being offered now
        self._held: dict[str, str] = {}  # IVR call id -> the agent's leg, while transferred

    def _campaign(self, campaign_id: int | None) -> int:
        if campaign_id is not None and self._acd.floor(campaign_id).logged_in > 0:
            return campaign_id
        return self._default

    async def availability(self, campaign_id: int | None, skills: tuple[str, ...]) -> Availability:
        floor = self._acd.floor(self._campaign(campaign_id))
        if floor.logged_in - floor.leaving <= 0:
            return Availability(open=False)
        now = self._clock.now()
        busy = [self._talk + self._wrap - (now - t) for t in floor.talk_started]
        busy += [self._wrap - (now - t) for t in floor.wrap_started]
        wait = estimated_wait(floor.ready, busy, self._waiting, self._talk + self._wrap)
        return Availability(open=True, wait_seconds=wait)

    async def reserve(self, request: AgentRequest, within: float) -> AgentTarget | None:
        offer = CallOffer(
            request.call_id,
            self._campaign(request.campaign_id),
            request.account_id,
            request.number,
            skills=request.skills or None,
        )
        self._waiting += 1
        try:
            agent_id = await self._acd.offer(offer, within, bridge=False)
        finally:
            self._waiting -= 1
        if agent_id is None:
            return None
        profile = next(p for p in self._acd.profiles() if p.id == agent_id)
        self._held[request.call_id] = profile.leg
        await self._acd.handle(CallBridged(CallId(request.call_id), self._clock.now(), agent=profile.leg))
        return self._target(profile)

    async def release(self, call_id: str, connected: bool) -> None:
        if self._held.pop(call_id, None) is None:
            return
        cause = HangupCause.NORMAL if connected else HangupCause.FAILED
        detail = "IVR caller left the agent" if connected else "IVR caller could not join the agent"
        await self._acd.handle(CallEnded(CallId(call_id), self._clock.now(), cause=cause, detail=detail))


class OutcomeListener(Protocol):
    def __call__(self, call_id: str, outcome: str) -> None: ...


class ReportingStore:
    """An ``IvrStore`` that also tells ``listener`` each call's outcome as it is stored.

    The flows store the outcome before they hang up, so the dialer hears it while its call is
    still live and writes it as the call's outcome (campaign mode ``ivr``).
    """

    def __init__(self, inner: IvrStore, listener: OutcomeListener) -> None:
        self._inner = inner
        self._listener = listener

    async def debtor(self, account_id: int) -> DebtorView | None:
        return await self._inner.debtor(account_id)

    async def debtor_by_phone(self, e164: str) -> DebtorView | None:
        return await self._inner.debtor_by_phone(e164)

    async def debtor_by_reference(self, reference: str) -> DebtorView | None:
        return await self._inner.debtor_by_reference(reference)

    async def campaign(self, campaign_id: int) -> CampaignView | None:
        return await self._inner.campaign(campaign_id)

    async def campaign_for_account(self, account_id: int) -> CampaignView | None:
        return await self._inner.campaign_for_account(account_id)

    async def verify(self, account_id: int, credential: Credential, digits: str) -> bool:
        return await self._inner.verify(account_id, credential, digits)

    async def record(self, call: CallContext, events: list[IvrEvent]) -> None:
        await self._inner.record(call, events)

    async def save_promise(
        self,
        call: CallContext,
        *,
        amount: Decimal,
        currency: str,
        promised_for: date,
        at: datetime,
        events: list[IvrEvent],
    ) -> int:
        return await self._inner.save_promise(
            call, amount=amount, currency=currency, promised_for=promised_for, at=at, events=events
        )

    async def finish(self, call: CallContext, *, outcome: str, at: datetime, events: list[IvrEvent]) -> None:
        await self._inner.finish(call, outcome=outcome, at=at, events=events)
        try:
            self._listener(call.call_id, outcome)
        except Exception:  # the outcome is stored; a faulty listener must not fail the call
            log.exception("IVR outcome listener failed for %s", call.call_id)

    async def save_callback(self, call: CallContext, *, due: datetime) -> int:
        return await self._inner.save_callback(call, due=due)


@dataclass
class PlatformIvr:
    """The IVR part of the platform: ``start`` binds the FastAGI port, ``close`` drains calls."""

    app: IvrApp
    server: FastAgiServer
    cache: PromptCache
    desk: AcdAgentDesk
    host: str
    port: int

    async def start(self) -> tuple[str, int]:
        """Bind the FastAGI port; a port in use is a ``ValidationError`` that says what to do."""
        try:
            address = await self.server.start()
        except OSError as exc:
            raise ValidationError(
                f"No se puede escuchar el IVR (FastAGI) en {self.host}:{self.port} ({exc.strerror}); use "
                f"RECOBRO_AGI_PORT=otro puerto o --no-ivr / Cannot listen for the IVR (FastAGI) on "
                f"{self.host}:{self.port} ({exc.strerror}); set RECOBRO_AGI_PORT to another port or use --no-ivr",
                field="agi_port",
                value=self.port,
            ) from exc
        self.host, self.port = address
        return address

    async def prerender(self) -> None:
        """The fixed prompts, once (a call before it ends renders what it needs on demand)."""
        try:
            new = await self.cache.prerender_fixed()
            log.info("IVR: %d fixed prompts rendered", new)
        except Exception:
            log.exception("IVR: fixed prompts could not be rendered")

    async def close(self) -> None:
        await self.server.close()


def build_platform_ivr(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    acd: AcdService,
    clock: Clock,
    *,
    default_campaign: int,
    engines: Mapping[int, CampaignEngine],
    pbx_prompts: str | None = None,
) -> PlatformIvr:
    """The IVR wired to the platform's database, ACD and clock (nothing bound yet).

    ``engines``: the running campaign engines; each IVR outcome goes to the one that owns the call.
    ``pbx_prompts``: the prompts directory as Asterisk sees it, when it runs in a chroot.
    """
    from recobro.runtime.cli_ivr import build_ivr  # the IVR's own wiring, shared with `recobro ivr`

    if not EspeakEngine.available():
        raise ValidationError(
            "Falta espeak-ng para los mensajes del IVR (apt-get install espeak-ng) o use --no-ivr / "
            "espeak-ng is missing for the IVR's prompts (apt-get install espeak-ng), or use --no-ivr",
            field="ivr",
        )

    def tell_engine(call_id: str, outcome: str) -> None:
        for engine in engines.values():
            if engine.owns(call_id):
                engine.ivr_outcome(call_id, outcome)

    desk = AcdAgentDesk(acd, clock, default_campaign=default_campaign)
    app, server, cache = build_ivr(
        settings, sessions, desk, now=clock.wall, store=lambda inner: ReportingStore(inner, tell_engine)
    )
    if pbx_prompts:
        cache.pbx_directory = pbx_prompts
    return PlatformIvr(app, server, cache, desk, settings.agi_host, settings.agi_port)
