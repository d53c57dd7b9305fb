"""``recobro ivr``: the FastAGI server alone (Asterisk's ``AGI(agi://host:4573/outbound|inbound)``).

Renders the fixed prompts once, then serves until Ctrl-C. The agent option dials
``--agent-dial`` (a queue or phone in the dialplan) in business hours and offers a callback
outside them; ``recobro serve`` wires the ACD instead. ``build_ivr`` is the wiring both use.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time as _time
from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.agents import StaticAgentDesk
from ivr.app import IvrApp, IvrDefaults
from ivr.flows.runner import IvrServices
from ivr.ports import AgentDesk, AgentTarget, IvrStore
from ivr.prompts.cache import PromptCache
from ivr.prompts.tts import EspeakEngine
from ivr.server import FastAgiServer
from ivr.sms import OutboxSmsGateway
from ivr.store import SqlIvrStore
from recobro.runtime.settings import Settings
from recobro.storage.repositories.ivr import IvrRepository

ZONE = "America/Mexico_City"


def _now() -> datetime:
    return datetime.now(UTC)


def build_ivr(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    agents: AgentDesk,
    *,
    pay_link: str = "https://pagos.example.com/p/{ref}",
    now: Callable[[], datetime] = _now,
    store: Callable[[IvrStore], IvrStore] | None = None,
) -> tuple[IvrApp, FastAgiServer, PromptCache]:
    """The IVR app, its FastAGI server (not started) and the prompt cache under the data dir.

    ``now``: the wall clock (``recobro serve`` passes the platform's, simulated or real);
    ``store``: wraps the SQL store (``recobro serve`` reports each outcome to the dialer).
    """
    cache = PromptCache(settings.data_dir / "prompts", EspeakEngine())
    sql: IvrStore = SqlIvrStore(IvrRepository(sessions))
    services = IvrServices(
        store=store(sql) if store is not None else sql,
        sms=OutboxSmsGateway(sessions, now=now),
        agents=agents,
        cache=cache,
        now=now,
        pay_link=pay_link,
    )
    defaults = IvrDefaults(
        company=settings.company_name, callback_number=settings.callback_number, region=settings.region, zone=ZONE
    )
    app = IvrApp(services, defaults)
    server = FastAgiServer(app.routes(), host=settings.agi_host, port=settings.agi_port)
    return app, server, cache


async def _run(
    settings: Settings, target: AgentTarget | None, pay_link: str, opens: time, closes: time, pbx_prompts: str | None
) -> int:
    from recobro.storage.db import make_engine, make_sessionmaker
    from recobro.storage.migrate import upgrade_engine

    if settings.database_url == "":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = make_engine(settings.effective_database_url)
    try:
        await upgrade_engine(db)
        zone = ZoneInfo(ZONE)
        desk = StaticAgentDesk(target, now=lambda: datetime.now(zone), opens=opens, closes=closes)
        _app, server, cache = build_ivr(settings, make_sessionmaker(db), desk, pay_link=pay_link)
        if pbx_prompts:
            cache.pbx_directory = pbx_prompts
        started = _time.perf_counter()
        new = await cache.prerender_fixed()
        typer.echo(
            f"Mensajes fijos listos / Fixed prompts ready: {new} nuevos / new en / in "
            f"{_time.perf_counter() - started:.1f} s ({cache.directory})"
        )
        try:
            host, port = await server.start()
        except OSError as exc:
            typer.echo(
                f"No se puede escuchar en {settings.agi_host}:{settings.agi_port} ({exc.strerror}); use "
                f"RECOBRO_AGI_PORT=otro puerto / Cannot listen there; set RECOBRO_AGI_PORT to another port"
            )
            return 2
        typer.echo(f"IVR FastAGI escuchando en / listening on agi://{host}:{port}/outbound | /inbound")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            typer.echo("Deteniendo el IVR / Stopping the IVR...")
            await server.close()
        typer.echo(f"Detenido / Stopped. llamadas / calls: {server.served}, cortadas / dropped: {server.dropped}")
        return 0
    finally:
        await db.dispose()


def ivr_command(
    agent_dial: Annotated[
        str | None,
        typer.Option("--agent-dial", help="A quién marcar en la opción 3 / dial string for option 3 (PJSIP/…)"),
    ] = None,
    agent_bridge: Annotated[
        str | None,
        typer.Option("--agent-bridge", help="ConfBridge del asesor / the agent's ConfBridge (recobro-agent-<id>)"),
    ] = None,
    pbx_prompts: Annotated[
        str | None,
        typer.Option(
            "--pbx-prompts", help="Ruta de los mensajes vista por Asterisk / prompts path as Asterisk sees it"
        ),
    ] = None,
    pay_link: Annotated[
        str, typer.Option("--pay-link", help="Enlace de pago; {ref} es la cuenta / payment link, {ref}: account")
    ] = "https://pagos.example.com/p/{ref}",
    opens: Annotated[str, typer.Option("--opens", help="Apertura de asesores / agents open (HH:MM)")] = "09:00",
    closes: Annotated[str, typer.Option("--closes", help="Cierre de asesores / agents close (HH:MM)")] = "20:00",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Solo el servidor FastAGI del IVR. / The IVR's FastAGI server alone."""
    from recobro.runtime.settings import load_settings

    if not EspeakEngine.available():
        typer.echo("Falta espeak-ng (apt-get install espeak-ng) / espeak-ng is missing (apt-get install espeak-ng)")
        raise typer.Exit(2)
    try:
        open_at, close_at = time.fromisoformat(opens), time.fromisoformat(closes)
    except ValueError as exc:
        typer.echo(f"Hora no válida / Invalid time: {exc}")
        raise typer.Exit(2) from exc
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    target = (
        AgentTarget("confbridge", agent_bridge, "recobro-agent-bridge,recobro-debtor")
        if agent_bridge
        else AgentTarget("dial", agent_dial)
        if agent_dial
        else None
    )
    code = asyncio.run(_run(load_settings(), target, pay_link, open_at, close_at, pbx_prompts))
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("ivr")(ivr_command)
