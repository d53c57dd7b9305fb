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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator, Mapping
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
from recobro.domain.errors import NotFound, ValidationError
from recobro.runtime.demo_seed import ensure_sim_agents, sim_username
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


class Platform:
    """The wired platform; ``build_platform`` makes it, ``start`` runs it, ``stop`` unwinds it."""

    def __init__(self, **parts: Any) -> None:
        self.settings: Settings = parts["settings"]
        self.options: ServeOptions = parts["options"]
        self.db = parts["db"]
        self.sessions = parts["sessions"]
        self.clock: SimClock = parts["clock"]
        self.simulated_wall: bool = parts["simulated_wall"]
        self.scenario: Scenario = parts["scenario"]
        self.port: SimulatedPbx = parts["port"]
        self.bus: LocalBus = parts["bus"]
        self.acd: AcdService = parts["acd"]
        self.engine: CampaignEngine = parts["engine"]
        self.source: DbHopperSource = parts["source"]
        self.agents: SimAgents = parts["agents"]
        self.accounts: int = parts["accounts"]
        self.closed_on_start: int = parts["closed_on_start"]
        self.engines = {self.engine.id: self.engine}
        self.manual = ManualDialer(
            acd=self.acd, port=self.port, calls=CallRepository(self.sessions), clock=self.clock,
            caller_id=lambda cid: self.engines[cid].campaign.callback_number if cid in self.engines else "",
        )
        self.auth = Authenticator(self.sessions, secret=self.settings.token_secret,
                                  ttl_seconds=self.settings.token_ttl_seconds)
        self.app = create_app(
            DesktopServices(campaigns=CampaignsDirectory(CampaignRepository(self.sessions), self.engines),
                            agents=self.acd, telephony="sim", auth=self.auth, acd=self.acd, engines=self.engines,
                            sessions=self.sessions, db=self.db, clock=self.clock, bus=self.bus, zone=DEMO_ZONE,
                            region=self.settings.region, reports_dir=self.settings.data_dir / "reports",
                            dialer=self.manual)
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._server: _Server | None = None
        self._server_task: asyncio.Task[None] | None = None
        self._stopped = False

    async def start(self, *, sockets: list[socket.socket] | None = None) -> None:
        """Run the pump, the engine and the agents; serve the API on ``sockets`` if given."""
        self._tasks.append(asyncio.create_task(self._pump(), name="event-pump"))
        self.agents.start()
        self._tasks.append(asyncio.create_task(self.engine.run(), name=f"campaign-{self.engine.id}"))
        if sockets:
            config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
            self._server = _Server(config)
            self._server_task = asyncio.create_task(self._server.serve(sockets=sockets), name="api")

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
        await self.agents.stop()
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
            for handle in (self.engine.handle, self.acd.handle, self.manual.handle):
                try:
                    await handle(event)
                except Exception:  # one faulty handler must not stop the platform's events
                    log.exception("event %s for %s failed", type(event).__name__, event.call_id)


async def build_platform(settings: Settings, options: ServeOptions) -> Platform:
    """Upgrade the database, load the campaign and the agents, and wire everything (nothing runs yet)."""
    if settings.telephony != "sim":
        raise ValidationError(
            "serve solo funciona con la central simulada por ahora (RECOBRO_TELEPHONY=sim) / "
            "serve only runs on the simulated PBX for now (RECOBRO_TELEPHONY=sim)",
            field="telephony",
        )
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
    if options.wall_start is not None:
        wall_start, simulated = options.wall_start, True
    else:
        wall_start, simulated = sim_wall_start(datetime.now(UTC), last)
    closed = await CallRepository(sessions).close_unfinished(wall_start)
    clock = SimClock(speed=options.speed, wall_start=wall_start)
    port = SimulatedPbx(scenario, clock)  # the clock carries the speed for every part at once
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
                         campaigns=rec.campaigns or frozenset({int(campaign.id)}), endpoint=rec.extension or "")
        )
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
        metrics_seconds=options.speed,  # one real second
    )
    acd.on_observation(lambda campaign_id, seen: engine.observe(seen) if campaign_id == engine.id else None)
    team = SimAgents(
        acd, bus, clock, [r.id for r in records], talk=scenario.agents.talk, wrap=scenario.agents.wrap,
        horizon_days=campaign.promise_horizon_days, zone=DEMO_ZONE, seed=scenario.seed,
    )
    return Platform(
        settings=settings, options=options, db=db, sessions=sessions, clock=clock, simulated_wall=simulated,
        scenario=scenario, port=port, bus=bus, acd=acd, engine=engine, source=source, agents=team,
        accounts=await source.count(), closed_on_start=closed,
    )
