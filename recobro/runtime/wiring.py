"""The composition root of ``recobro serve``: one process, one asyncio loop, every part wired by hand.

    SimulatedPbx ──events──► pump ──► CampaignEngine.handle ──► CallRepository (ordered writer)
         ▲                        └──► AcdService.handle ─────► AgentRepository
         │ originate / hangup / play        ▲ offer / floor (DeskForDialer adapts the two)
         └─────────── CampaignEngine ───────┘
    SimAgents ──(bus agent.<id>)──► AcdService.hangup / dispose ──► DispositionRow, PromiseRow, CallbackRow
    uvicorn ──► agent_desktop_api.create_app(DesktopServices: auth, ACD, engines, sessions, bus, ManualDialer)
    desktop's manual dial ──► ManualDialer ──► originate (no AMD), bridge on answer ◄── pump

The dialer and the ACD never import each other: ``DeskForDialer`` turns the ACD's floor view and
offers into the dialer's ``AgentDesk`` shapes. Every part reads one ``SimClock`` (speed and the
simulated wall time, see ``recobro.runtime.sim_clock``). ``stop`` unwinds in the order that
leaves nothing half-written: stop dialing and hang up (the engine waits for the PBX's ends and
closes the rest), let the simulated agents dispose what is in wrap-up, log the agents out, drain
the writers, then stop the web server and the PBX.

With ``RECOBRO_TELEPHONY=asterisk`` the same parts run on ``AmiTelephony`` (the RECOBRO_AMI_*
settings) and real time (``LoopClock``); ``AgentSessions`` keeps each logged-in agent's phone in
their ConfBridge, and the dialing starts once the simulated agents (if any) are seated there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import func, select

from acd.ports import AgentProfile, CallOffer, CampaignTerms
from acd.routing import parse_rule
from acd.service import AcdService
from agent_desktop_api.app import create_app
from agent_desktop_api.auth import Authenticator
from agent_desktop_api.services import DesktopServices
from dialer.engine import CampaignEngine
from dialer.hopper_source import DbHopperSource
from dialer.ports import AgentFloor, PersonOffer
from recobro.bus import LocalBus
from recobro.domain.errors import DomainError, NotFound, ValidationError
from recobro.runtime.agent_sessions import AgentSessions, default_agent_dial
from recobro.runtime.demo_seed import ensure_sim_agents, sim_username
from recobro.runtime.ivr_wiring import PlatformIvr, build_platform_ivr
from recobro.runtime.manual_dial import ManualDialer
from recobro.runtime.settings import Settings
from recobro.runtime.sim_agents import SimAgents
from recobro.runtime.sim_clock import DEMO_ZONE, SimClock, sim_wall_start
from recobro.storage.db import make_engine, make_sessionmaker
from recobro.storage.migrate import upgrade_engine
from recobro.storage.models import CallRow
from recobro.storage.repositories.agents import AgentRepository
from recobro.storage.repositories.calls import CallRepository
from recobro.storage.repositories.campaigns import CampaignRepository, campaign_from_row
from recobro.telephony.ami.adapter import AmiTelephony
from recobro.telephony.ami.client import AmiConfig
from recobro.telephony.clock import Clock, LoopClock
from recobro.telephony.port import TelephonyPort
from recobro.telephony.sim.pbx import SimulatedPbx
from recobro.telephony.sim.scenario import Scenario, load_scenario

log = logging.getLogger(__name__)

DEMO_SCENARIO = Path(__file__).resolve().parents[1] / "telephony" / "sim" / "demo.toml"


class DeskForDialer:
    """The ACD as the dialer's ``AgentDesk``."""

    def __init__(self, acd: AcdService) -> None:
        self._acd = acd

    def floor(self, campaign_id: int) -> AgentFloor:
        v = self._acd.floor(campaign_id)
        return AgentFloor(
            logged_in=v.logged_in, ready=v.ready, leaving=v.leaving, talk_started=v.talk_started,
            wrap_started=v.wrap_started, by_state=v.by_state, utilization=v.utilization,
            mean_wait_seconds=v.mean_wait_seconds,
        )

    async def offer(self, offer: PersonOffer, within: float) -> int | None:
        call = CallOffer(offer.call_id, offer.campaign_id, offer.account_id, offer.number)
        return await self._acd.offer(call, within)


class CampaignsDirectory:
    """The campaigns as the web API lists them: stored settings, live figures of those dialed."""

    def __init__(self, repo: CampaignRepository, engines: Mapping[int, CampaignEngine]) -> None:
        self._repo = repo
        self._engines = engines

    async def list_campaigns(self) -> list[dict[str, Any]]:
        out = await self._repo.summaries()
        for item in out:
            engine = self._engines.get(item["id"])
            item["running"] = engine is not None
            if engine is not None:
                item.update(engine.metrics())
        return out

    def live_metrics(self, campaign_id: int) -> dict[str, Any]:
        engine = self._engines.get(campaign_id)
        if engine is None:
            raise NotFound(
                f"la campaña {campaign_id} no se está marcando / campaign {campaign_id} is not being dialed",
                code="campaign_not_running",
            )
        return engine.metrics()


class _Server(uvicorn.Server):
    """uvicorn inside our loop: the platform handles Ctrl-C, not uvicorn."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass(frozen=True, slots=True)
class ServeOptions:
    campaign: str = "demo"
    sim_agents: int = 10
    speed: float = 1.0
    scenario: Path = DEMO_SCENARIO
    wall_start: datetime | None = None  # None: real time if inside the demo hours, else simulated
    # Asterisk only (RECOBRO_TELEPHONY=asterisk). With wall_start the clock runs in real time from
    # that wall moment (tests dial inside the calling hours at any hour of the night).
    dial: Callable[[str], str] | None = None  # E.164 -> dial string; None: PJSIP/<digits>@carrier
    agent_dial: Callable[[str], str] = default_agent_dial  # agent extension -> their phone's dial string
    ami: AmiConfig | None = None  # None: from the RECOBRO_AMI_* settings
    agent_check_seconds: float = 2.0  # how often missing agent legs are looked for
    seat_timeout: float = 15.0  # how long start() waits for the simulated agents' legs
    ivr: bool = False  # the IVR's FastAGI server on settings.agi_host/agi_port (`recobro serve` turns it on)
    ivr_pbx_prompts: str | None = None  # the prompts directory as Asterisk sees it (a chroot); None: same path


class Platform:
    """The wired platform; ``build_platform`` makes it, ``start`` runs it, ``stop`` unwinds it."""

    def __init__(self, **parts: Any) -> None:
        self.settings: Settings = parts["settings"]
        self.options: ServeOptions = parts["options"]
        self.db = parts["db"]
        self.sessions = parts["sessions"]
        self.clock: Clock = parts["clock"]
        self.simulated_wall: bool = parts["simulated_wall"]
        self.scenario: Scenario = parts["scenario"]
        self.port: TelephonyPort = parts["port"]
        self.legs: AgentSessions | None = parts.get("legs")
        self.bus: LocalBus = parts["bus"]
        self.acd: AcdService = parts["acd"]
        self.engine: CampaignEngine = parts["engine"]
        self.source: DbHopperSource = parts["source"]
        self.agents: SimAgents = parts["agents"]
        self.accounts: int = parts["accounts"]
        self.closed_on_start: int = parts["closed_on_start"]
        self.ivr: PlatformIvr | None = parts.get("ivr")  # recobro.runtime.ivr_wiring
        self.engines = {self.engine.id: self.engine}
        self.manual = ManualDialer(
            acd=self.acd, port=self.port, calls=CallRepository(self.sessions), clock=self.clock,
            caller_id=lambda cid: self.engines[cid].campaign.callback_number if cid in self.engines else "",
        )
        self.auth = Authenticator(self.sessions, secret=self.settings.token_secret,
                                  ttl_seconds=self.settings.token_ttl_seconds)
        self.app = create_app(
            DesktopServices(campaigns=CampaignsDirectory(CampaignRepository(self.sessions), self.engines),
                            agents=self.acd, telephony=self.settings.telephony, auth=self.auth, acd=self.acd,
                            engines=self.engines,
                            sessions=self.sessions, db=self.db, clock=self.clock, bus=self.bus, zone=DEMO_ZONE,
                            region=self.settings.region, reports_dir=self.settings.data_dir / "reports",
                            dialer=self.manual)
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._server: _Server | None = None
        self._server_task: asyncio.Task[None] | None = None
        self._legs_task: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self, *, sockets: list[socket.socket] | None = None) -> None:
        """Run the pump, the engine and the agents; serve the API on ``sockets`` if given.

        The IVR's FastAGI port is bound first: a port in use is a ``ValidationError`` before
        anything runs.
        """
        if self.ivr is not None:
            await self.ivr.start()
            self._tasks.append(asyncio.create_task(self.ivr.prerender(), name="ivr-prompts"))
        self._tasks.append(asyncio.create_task(self._pump(), name="event-pump"))
        if self.legs is not None:
            self._legs_task = asyncio.create_task(self.legs.run(), name="agent-legs")
            await self.legs.subscribed.wait()
        self.agents.start()
        if self.legs is not None and self.agents.agents:
            await self._seat_sim_agents()
        self._tasks.append(asyncio.create_task(self.engine.run(), name=f"campaign-{self.engine.id}"))
        if sockets:
            config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
            self._server = _Server(config)
            self._server_task = asyncio.create_task(self._server.serve(sockets=sockets), name="api")

    async def _seat_sim_agents(self) -> None:
        """Dial only once the simulated agents are in their bridges (a person would be abandoned)."""
        assert self.legs is not None
        ids = [a.id for a in self.agents.agents]
        deadline = self.clock.now() + self.options.seat_timeout
        while not all(self.acd.status(i).logged_in for i in ids) and self.clock.now() < deadline:
            await asyncio.sleep(0.02)
        await self.legs.wait_seated(ids, max(0.0, deadline - self.clock.now()))

    def status(self) -> dict[str, Any]:
        c = self.engine.counts
        floor = self.acd.floor(self.engine.id)
        return {
            "wall": self.clock.wall(),
            "dials": c.dials,
            "connects": c.connects,
            "abandoned": c.abandoned,
            "dispositions": self.acd.dispositions,
            "in_flight": self.engine.live_calls(),
            "ready": floor.ready,
            "logged_in": floor.logged_in,
            "nothing_to_dial": self.engine.nothing_to_dial,
        }

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        await self.engine.stop(grace=5.0)
        if self.ivr is not None:  # the IVR's calls end (or are cut) before the ACD closes
            await self.ivr.close()
        await self.agents.stop()
        if self._legs_task is not None:
            self._legs_task.cancel()
            await asyncio.gather(self._legs_task, return_exceptions=True)
        if self.legs is not None:
            await self.legs.stop_all()
        await self.acd.close()
        if self._server is not None and self._server_task is not None:
            self._server.should_exit = True
            await self._server_task
        await self.app.state.agent_hub.close()
        await self.port.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.bus.close()
        await self.db.dispose()

    async def _pump(self) -> None:
        async for event in self.port.events():
            handlers = [self.engine.handle, self.acd.handle, self.manual.handle]
            if self.legs is not None:
                handlers.append(self.legs.handle)
            for handle in handlers:
                try:
                    await handle(event)
                except Exception:  # one faulty handler must not stop the platform's events
                    log.exception("event %s for %s failed", type(event).__name__, event.call_id)


async def build_platform(settings: Settings, options: ServeOptions) -> Platform:
    """Upgrade the database, load the campaign and the agents, and wire everything (nothing runs yet)."""
    if not 0 < options.speed <= 100:
        raise ValidationError(f"--speed debe estar entre 0 y 100 / must be in (0, 100], got {options.speed}",
                              field="speed")
    if not 0 <= options.sim_agents <= 99:
        raise ValidationError("--sim-agents debe estar entre 0 y 99 / must be 0-99", field="sim_agents")
    if settings.database_url == "":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = make_engine(settings.effective_database_url)
    try:
        return await _wire(settings, options, db)
    except BaseException:
        await db.dispose()
        raise


async def _wire(settings: Settings, options: ServeOptions, db: Any) -> Platform:
    await upgrade_engine(db)
    sessions = make_sessionmaker(db)
    campaigns = CampaignRepository(sessions)
    row = await campaigns.by_name(options.campaign)
    campaign = campaign_from_row(row)
    scenario = load_scenario(options.scenario)
    async with sessions() as s:
        last = (await s.execute(select(func.max(func.coalesce(CallRow.dialed_at, CallRow.queued_at))))).scalar()
    if isinstance(last, str):  # SQLite returns an aggregate of a typed column as text
        last = datetime.fromisoformat(last).replace(tzinfo=UTC)
    clock: Clock
    port: TelephonyPort
    if settings.telephony == "asterisk":
        # Real time; a given wall_start shifts only what the wall clock reads (tests).
        clock = LoopClock() if options.wall_start is None else SimClock(1.0, options.wall_start)
        wall_start, simulated = clock.wall(), options.wall_start is not None
        port = await _open_ami(settings, options, clock)
    else:
        if options.wall_start is not None:
            wall_start, simulated = options.wall_start, True
        else:
            wall_start, simulated = sim_wall_start(datetime.now(UTC), last)
        clock = SimClock(speed=options.speed, wall_start=wall_start)
        port = SimulatedPbx(scenario, clock)  # the clock carries the speed for every part at once
    try:
        return await _wire_parts(settings, options, db, sessions, campaigns, row, campaign, scenario,
                                 clock=clock, port=port, wall_start=wall_start, simulated=simulated)
    except BaseException:
        await port.close()
        raise


async def _open_ami(settings: Settings, options: ServeOptions, clock: Clock) -> AmiTelephony:
    config = options.ami or AmiConfig(
        host=settings.ami_host, port=settings.ami_port, user=settings.ami_user, secret=settings.ami_secret,
        action_timeout=settings.ami_action_timeout,
    )
    try:
        return await AmiTelephony.open(config, clock, dial=options.dial)
    except (DomainError, OSError, TimeoutError) as exc:
        raise ValidationError(
            f"No se pudo conectar con Asterisk (AMI {config.host}:{config.port}): {exc}; revise RECOBRO_AMI_HOST, "
            f"_PORT, _USER y _SECRET / Cannot reach Asterisk's AMI at {config.host}:{config.port}: {exc}; check "
            "RECOBRO_AMI_HOST, _PORT, _USER and _SECRET",
            field="ami_host",
        ) from exc


async def _wire_parts(  # the composition root hands every part over once
    settings: Settings, options: ServeOptions, db: Any, sessions: Any, campaigns: CampaignRepository, row: Any,
    campaign: Any, scenario: Scenario, *, clock: Clock, port: TelephonyPort, wall_start: datetime, simulated: bool,
) -> Platform:
    asterisk = isinstance(port, AmiTelephony)
    legs: AgentSessions | None = None
    closed = await CallRepository(sessions).close_unfinished(wall_start)
    bus = LocalBus()
    agents_repo = AgentRepository(sessions)
    acd = AcdService(port=port, store=agents_repo, clock=clock, bus=bus, local_zone=DEMO_ZONE)
    assert campaign.id is not None
    acd.add_campaign(
        CampaignTerms(
            int(campaign.id),
            campaign.required_skills,
            campaign.promise_horizon_days,
            routing_rule=parse_rule(row.routing_rule),
        )
    )
    acd.set_wrap_up_limit(int(campaign.id), campaign.wrap_up_limit_seconds)
    await ensure_sim_agents(sessions, options.sim_agents, int(campaign.id))
    records = await agents_repo.agents([sim_username(i) for i in range(1, options.sim_agents + 1)])
    for rec in records:
        acd.add_agent(
            AgentProfile(id=rec.id, username=rec.username, display_name=rec.display_name, skills=rec.skills,
                         campaigns=rec.campaigns or frozenset({int(campaign.id)}),
                         endpoint=_extension(rec.extension, rec.id) if asterisk else rec.extension or "")
        )
    if isinstance(port, AmiTelephony):
        legs = AgentSessions(port, acd, bus, clock, dial=options.agent_dial, check_every=options.agent_check_seconds)
    source = DbHopperSource(sessions, int(campaign.id))
    engine = CampaignEngine(
        campaign,
        port=port,
        desk=DeskForDialer(acd),
        numbers=source,
        calls=CallRepository(sessions),
        changes=campaigns,
        clock=clock,
        bus=bus,
        abandon_message=row.abandon_message,
        amd_false_positive=scenario.amd.human_as_machine,
        metrics_seconds=1.0 if asterisk else options.speed,  # one real second
    )
    acd.on_observation(lambda campaign_id, seen: engine.observe(seen) if campaign_id == engine.id else None)
    team = SimAgents(
        acd, bus, clock, [r.id for r in records], talk=scenario.agents.talk, wrap=scenario.agents.wrap,
        horizon_days=campaign.promise_horizon_days, zone=DEMO_ZONE, seed=scenario.seed,
    )
    return Platform(
        settings=settings, options=options, db=db, sessions=sessions, clock=clock, simulated_wall=simulated,
        scenario=scenario, port=port, bus=bus, acd=acd, engine=engine, source=source, agents=team,
        accounts=await source.count(), closed_on_start=closed, legs=legs,
        ivr=build_platform_ivr(settings, sessions, acd, clock, default_campaign=engine.id, engines={engine.id: engine},
                               pbx_prompts=options.ivr_pbx_prompts or settings.ivr_pbx_prompts or None)
        if options.ivr else None,
    )


def _extension(extension: str | None, agent_id: int) -> str:
    """The agent's numeric extension at the PBX: the stored one, else the agent's id."""
    return extension if extension and extension.isascii() and extension.isdigit() else str(agent_id)
