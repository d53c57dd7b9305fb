"""The IVR's FastAGI scripts: ``outbound`` (campaign mode ``ivr``) and ``inbound``.

The dialplan reaches them as ``AGI(agi://127.0.0.1:4573/outbound?call_id=…&account_id=…&
campaign_id=…&number=…)`` (after AMD, which sets ``AMDSTATUS``) and
``AGI(agi://127.0.0.1:4573/inbound)``. Values missing from the query string are read from
the channel variables ``RECOBRO_CALL_ID``, ``RECOBRO_ACCOUNT_ID``, ``RECOBRO_CAMPAIGN_ID`` and
``RECOBRO_NUMBER`` set by the originate.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from ivr.channel import AgiChannel
from ivr.flows.inbound import InboundFlow
from ivr.flows.model import CampaignView, Outcome
from ivr.flows.outbound import OutboundFlow
from ivr.flows.runner import FlowRunner, IvrServices
from ivr.ports import CallContext
from ivr.server import Handler
from recobro.compliance.numbers import parse_phone
from recobro.domain.errors import ValidationError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IvrDefaults:
    """Terms for calls with no campaign (inbound) and how to read the caller's number."""

    company: str = "Recobro Cobranza"
    callback_number: str = "+525555555555"
    region: str = "MX"
    zone: str = "America/Mexico_City"
    promise_horizon_days: int = 30
    language: str = "es"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


class IvrApp:
    def __init__(self, services: IvrServices, defaults: IvrDefaults | None = None) -> None:
        self.services = services
        self.defaults = defaults or IvrDefaults()
        self.outcomes: list[Outcome] = []  # recent outcomes, newest last (status and tests)

    def routes(self) -> dict[str, Handler]:
        return {"outbound": self.outbound, "inbound": self.inbound}

    def _default_campaign(self) -> CampaignView:
        d = self.defaults
        return CampaignView(None, d.company, d.callback_number, d.promise_horizon_days, language=d.language)

    def _today(self) -> date:
        return self.services.now().astimezone(ZoneInfo(self.defaults.zone)).date()

    def _e164(self, raw: str) -> str:
        if not raw:
            return ""
        try:
            return parse_phone(raw, self.defaults.region).e164
        except ValidationError:
            return ""

    async def _param(self, channel: AgiChannel, name: str, variable: str) -> str:
        value = channel.env.params.get(name, "")
        return value or (await channel.get_variable(variable)) or ""

    def _keep(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        del self.outcomes[:-1000]

    async def outbound(self, channel: AgiChannel) -> None:
        call_id = await self._param(channel, "call_id", "RECOBRO_CALL_ID") or channel.env.unique_id
        account_id = _int(await self._param(channel, "account_id", "RECOBRO_ACCOUNT_ID"))
        campaign_id = _int(await self._param(channel, "campaign_id", "RECOBRO_CAMPAIGN_ID"))
        number = self._e164(await self._param(channel, "number", "RECOBRO_NUMBER"))
        amd = (await self._param(channel, "amd", "AMDSTATUS")).upper()
        store = self.services.store
        debtor = await store.debtor(account_id) if account_id is not None else None
        if debtor is None:
            log.warning("IVR outbound call %s: no account %s; hanging up", call_id, account_id)
            await channel.hangup()
            return
        campaign = (await store.campaign(campaign_id) if campaign_id is not None else None) or self._default_campaign()
        flow = OutboundFlow(campaign, debtor, today=self._today())
        call = CallContext(call_id, number, account_id=debtor.account_id, campaign_id=campaign.campaign_id)
        await channel.answer()
        runner = FlowRunner(self.services, channel, call)
        self._keep(await runner.run(flow, flow.start("machine" if amd == "MACHINE" else "human")))

    async def inbound(self, channel: AgiChannel) -> None:
        call_id = channel.env.unique_id or uuid.uuid4().hex
        number = self._e164(channel.env.caller_id)
        flow = InboundFlow(self._default_campaign(), today=self._today())
        await channel.answer()
        runner = FlowRunner(self.services, channel, CallContext(call_id, number))
        self._keep(await runner.run(flow, flow.start()))
