"""The thin async shell that plays a pure flow over an AGI channel and the ports.

Prompts of one ``Say`` are all sent to the cache at once and played in order: the fixed ones
(already rendered at setup) start at once while a personalized sentence renders behind them,
which keeps the time to first audio short on a cache miss. While collecting, a key press cuts
the prompt short and counts as the first key. Pending ivr events are written before each wait
for the caller and with the call's last write (promise, outcome), never with identity digits
in clear (the flows mask them). A caller hanging up ends the run with outcome ``hung_up``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ivr.channel import DIGITS, AgiChannel, ChannelHungUp, Collected
from ivr.flows.inbound import InboundFlow
from ivr.flows.model import (
    Action,
    AgentsInfo,
    AskAgents,
    Done,
    Event,
    Finish,
    Found,
    Identified,
    Input,
    LookupAccount,
    LookupCaller,
    Outcome,
    Record,
    SaveCallback,
    SavePromise,
    Say,
    SendPayLink,
    Transfer,
    Verify,
    needs_answer,
)
from ivr.flows.outbound import OutboundFlow
from ivr.flows.selfservice import SelfServiceFlow
from ivr.ports import AgentDesk, AgentRequest, CallContext, IvrEvent, IvrStore
from ivr.prompts.cache import PromptCache
from ivr.sms import SmsError, SmsGateway, pay_link_body

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IvrServices:
    store: IvrStore
    sms: SmsGateway
    agents: AgentDesk
    cache: PromptCache
    now: Callable[[], datetime]  # aware wall clock
    pay_link: str = "https://pagos.example.com/p/{ref}"  # {ref}: the account's external reference
    agent_within: float = 20.0  # seconds the ACD has to find an agent
    inter_digit: float = 3.0


class FlowRunner:
    """Runs one flow on one channel; ``run`` returns the outcome."""

    def __init__(self, services: IvrServices, channel: AgiChannel, call: CallContext) -> None:
        self.s = services
        self.channel = channel
        self.call = call
        self._pending: list[IvrEvent] = []
        self.played: list[str] = []  # prompt keys, in order (for logs and tests)

    async def run(self, flow: SelfServiceFlow, first: list[Action]) -> Outcome:
        actions = first
        try:
            while True:
                event = await self._perform_all(flow, actions)
                if flow.done or event is None:
                    break
                actions = flow.handle(event)
        except ChannelHungUp:
            if not flow.done:
                await self._close(Outcome.HUNG_UP)
                return Outcome.HUNG_UP
        assert flow.outcome is not None
        return flow.outcome

    async def _perform_all(self, flow: SelfServiceFlow, actions: list[Action]) -> Event | None:
        event: Event | None = None
        for i, action in enumerate(actions):
            if needs_answer(action) and i != len(actions) - 1:
                raise RuntimeError(f"flow {type(flow).__name__} asked for an answer mid-list: {action!r}")
            event = await self._perform(flow, action)
        return event

    async def _perform(self, flow: SelfServiceFlow, action: Action) -> Event | None:
        if isinstance(action, Record):
            self._pending.append((self.s.now(), action.kind, action.value))
            return None
        if isinstance(action, Say):
            return await self._say(action)
        if isinstance(action, Finish):
            await self._close(action.outcome, hang_up=action.hang_up)
            return None
        await self._flush()
        if isinstance(action, SendPayLink):
            return await self._send_pay_link(flow)
        if isinstance(action, SavePromise):
            return await self._save_promise(flow, action)
        if isinstance(action, AskAgents):
            info = await self.s.agents.availability(self.call.campaign_id, flow.campaign.skills)
            return AgentsInfo(info.open, info.wait_seconds, info.next_open)
        if isinstance(action, Transfer):
            return await self._transfer(action)
        if isinstance(action, SaveCallback):
            due = action.due or self.s.now() + timedelta(minutes=5)
            await self.s.store.save_callback(self.call, due=due)
            return Done(True)
        if isinstance(action, LookupCaller):
            return Found(await self.s.store.debtor_by_phone(self.call.number) if self.call.number else None)
        if isinstance(action, LookupAccount):
            return Found(await self.s.store.debtor_by_reference(action.reference))
        if isinstance(action, Verify):
            ok = await self.s.store.verify(action.account_id, action.credential, action.digits)
            if not ok:
                return Identified(False)
            campaign = await self.s.store.campaign_for_account(action.account_id)
            campaign_id = campaign.campaign_id if campaign else None
            self.call = dataclasses.replace(self.call, account_id=action.account_id, campaign_id=campaign_id)
            return Identified(True, campaign)
        raise TypeError(f"unknown IVR action {action!r}")

    # -- audio -------------------------------------------------------------------------------
    async def _say(self, say: Say) -> Input | None:
        renders = [asyncio.ensure_future(self.s.cache.get(p)) for p in say.prompts]
        first_key = ""
        try:
            for prompt, render in zip(say.prompts, renders, strict=True):
                path = await render
                self.played.append(prompt.key)
                self._pending.append((self.s.now(), "prompt", prompt.key))
                digit = await self.channel.stream_file(self.s.cache.pbx_name(path), DIGITS if say.collect else "")
                if digit is not None:
                    first_key = digit
                    break
        finally:
            for render in renders:
                if not render.done():
                    render.add_done_callback(_consume)
        if say.collect is None:
            return None
        await self._flush()
        c = say.collect
        got: Collected = await self.channel.collect(
            first_key,
            max_digits=c.max_digits,
            timeout=c.timeout,
            inter_digit=self.s.inter_digit,
            terminator=c.terminator,
        )
        return Input(got.digits, timed_out=got.timed_out)

    # -- requests ----------------------------------------------------------------------------
    async def _send_pay_link(self, flow: SelfServiceFlow) -> Done:
        debtor = flow.debtor
        assert debtor is not None
        link = self.s.pay_link.format(ref=debtor.external_ref or debtor.account_id)
        body = pay_link_body(flow.campaign.company, link, flow.language)
        try:
            await self.s.sms.send(self.call.number, body, account_id=debtor.account_id)
        except SmsError as exc:
            log.warning("IVR call %s: pay link not sent: %s", self.call.call_id, exc)
            return Done(False)
        return Done(True)

    async def _save_promise(self, flow: SelfServiceFlow, action: SavePromise) -> Done:
        debtor = flow.debtor
        assert debtor is not None
        try:
            await self.s.store.save_promise(
                self.call,
                amount=action.amount,
                currency=debtor.currency,
                promised_for=action.promised_for,
                at=self.s.now(),
                events=[],
            )
        except Exception:
            log.exception("IVR call %s: the promise could not be stored", self.call.call_id)
            return Done(False)
        return Done(True)

    async def _transfer(self, action: Transfer) -> Done:
        assert self.call.account_id is not None
        request = AgentRequest(
            self.call.call_id, self.call.account_id, self.call.campaign_id, self.call.number, action.skills
        )
        target = await self.s.agents.reserve(request, self.s.agent_within)
        if target is None:
            return Done(False)
        connected = False
        try:
            await self.channel.set_variable("RECOBRO_ACCOUNT_ID", str(self.call.account_id))
            if target.kind == "confbridge":
                connected = await self.channel.join_conference(target.address, target.options)
            else:
                connected = await self.channel.transfer(target.address) == "ANSWER"
        finally:
            await self.s.agents.release(self.call.call_id, connected)
        return Done(connected)

    # -- writes ------------------------------------------------------------------------------
    async def _flush(self) -> None:
        if self._pending:
            events, self._pending = self._pending, []
            await self.s.store.record(self.call, events)

    async def _close(self, outcome: Outcome, *, hang_up: bool = True) -> None:
        events, self._pending = self._pending, []
        if outcome is Outcome.HUNG_UP:
            events.append((self.s.now(), "outcome", outcome.value))
        await self.s.store.finish(self.call, outcome=outcome.value, at=self.s.now(), events=events)
        log.info("IVR call %s ended: %s", self.call.call_id, outcome.value)
        if hang_up:
            with contextlib.suppress(ChannelHungUp):
                await self.channel.hangup()


def _consume(task: asyncio.Future[Any]) -> None:
    """Retrieve a render's result or error once nobody waits for it (no 'never retrieved')."""
    if not task.cancelled():
        task.exception()


__all__ = ["FlowRunner", "InboundFlow", "IvrServices", "OutboundFlow"]
