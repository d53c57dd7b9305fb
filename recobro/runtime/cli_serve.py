"""``recobro serve``: the whole platform in one process on the simulated PBX (``make demo``), or on
a real Asterisk with ``RECOBRO_TELEPHONY=asterisk`` (AMI address and login from RECOBRO_AMI_*).

Says where to look, then one status line every few seconds; Ctrl-C stops it cleanly (calls hung
up, wrap-ups disposed, agents logged out, every write done). A second Ctrl-C aborts at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

from recobro.domain.errors import NotFound, ValidationError

if TYPE_CHECKING:
    from recobro.runtime.settings import Settings
    from recobro.runtime.wiring import Platform, ServeOptions

STATUS_EVERY = 5.0  # real seconds between status lines
_ZONE = ZoneInfo("America/Mexico_City")


def _say(text: str) -> None:
    typer.echo(text)


def _bind(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound before anything starts: a busy port is a clear message."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        _say(
            f"No se puede escuchar en {host}:{port} ({exc.strerror}); use RECOBRO_API_PORT=otro puerto / "
            f"Cannot listen on {host}:{port} ({exc.strerror}); set RECOBRO_API_PORT to another port"
        )
        raise typer.Exit(2) from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _local(moment: datetime) -> str:
    return moment.astimezone(_ZONE).strftime("%Y-%m-%d %H:%M:%S")


def _banner(p: Platform, url: str) -> None:
    o, c = p.options, p.engine.campaign
    _say("Recobro en marcha / Recobro is running")
    _say(f"  Web: {url}  ·  API: {url}api/docs")
    _say(
        f"  Métricas en vivo / Live metrics: {url}api/campaigns/{p.engine.id}/metrics  "
        f"(también en el bus / also on the bus: campaign.{p.engine.id}.metrics)"
    )
    _say(
        f"  Campaña / Campaign: {c.name} ({c.mode.value}{', en pausa / paused' if c.paused else ''}), "
        f"{p.accounts} cuentas / accounts; {o.sim_agents} agentes simulados / simulated agents"
    )
    if p.settings.telephony == "asterisk":
        s = p.settings
        _say(f"  Asterisk: AMI {s.ami_host}:{s.ami_port} (usuario / user {s.ami_user}), tiempo real / real time")
    else:
        _say(f"  Central simulada / Simulated PBX: escenario / scenario {p.scenario.name}, "
             f"velocidad / speed {o.speed:g}x")
    wall = _local(p.clock.wall())
    if p.simulated_wall:
        _say(
            f"  Reloj simulado / Simulated clock: {wall} America/Mexico_City. La hora real está fuera del horario "
            f"en que se puede llamar a todos los deudores; la demostración corre en horario hábil / The real time "
            f"is outside the hours every debtor may be called; the demo runs in business hours"
        )
    else:
        _say(f"  Reloj / Clock: hora real / real time, {wall} America/Mexico_City")
    if p.closed_on_start:
        _say(
            f"  {p.closed_on_start} llamadas de una ejecución anterior quedaron abiertas y se cerraron / "
            f"calls left open by an earlier run were closed"
        )
    if p.accounts == 0:
        _say(
            f"  La campaña no tiene cuentas. Importe la lista de ejemplo / The campaign has no accounts. "
            f"Import the sample list: recobro import accounts sample/accounts-demo.csv --campaign {c.name}"
        )
    if c.paused:
        _say("  La campaña está en pausa: no marcará / The campaign is paused: it will not dial")
    _say("  Ctrl-C para detener / to stop")


def _status_line(status: dict[str, Any], agents: int) -> str:
    line = (
        f"[{_local(status['wall'])[11:]}] marcadas/dials {status['dials']} · conectadas/connects "
        f"{status['connects']} · abandonadas/abandoned {status['abandoned']} · calificadas/dispositions "
        f"{status['dispositions']} · en curso/in flight {status['in_flight']} · listos/ready "
        f"{status['ready']}/{status['logged_in'] or agents}"
    )
    if status["nothing_to_dial"] and status["in_flight"] == 0:
        line += " · nada que marcar ahora (lista agotada o reglas) / nothing to dial now (list done or rules)"
    return line


async def _serve(settings: Settings, options: ServeOptions) -> dict[str, Any]:
    """Run until Ctrl-C; returns the final figures."""
    from recobro.runtime.wiring import build_platform

    if settings.telephony == "asterisk" and options.speed != 1.0:
        _say("Con Asterisk el tiempo es real: --speed no aplica / On Asterisk time is real: --speed does not apply")
        raise typer.Exit(2)
    sock = _bind(settings.api_host, settings.api_port)
    try:
        platform = await build_platform(settings, options)
    except NotFound as exc:
        sock.close()
        _say(
            f"No existe la campaña '{options.campaign}'. Cree la demostración con: recobro demo seed / "
            f"Campaign '{options.campaign}' does not exist. Create the demo with: recobro demo seed ({exc.message})"
        )
        raise typer.Exit(2) from exc
    except ValidationError as exc:
        sock.close()
        _say(f"Error: {exc.message}")
        raise typer.Exit(2) from exc
    host = f"[{settings.api_host}]" if ":" in settings.api_host else settings.api_host
    _banner(platform, f"http://{host}:{settings.api_port}/")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await platform.start(sockets=[sock])
    except ValidationError as exc:  # the IVR's FastAGI port is taken: nothing runs yet
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        sock.close()
        await platform.stop()
        _say(f"Error: {exc.message}")
        raise typer.Exit(2) from exc
    if platform.ivr is not None:
        _say(f"  IVR (FastAGI): agi://{platform.ivr.host}:{platform.ivr.port}/outbound | /inbound")
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), STATUS_EVERY)
            except TimeoutError:
                _say(_status_line(platform.status(), options.sim_agents))
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)  # a second Ctrl-C aborts
        _say("Deteniendo: colgando llamadas y guardando / Stopping: hanging up calls and saving...")
        await platform.stop()
    return platform.status()


def serve_command(
    sim_agents: Annotated[
        int | None,
        typer.Option("--sim-agents", min=0, max=99,
                     help="Agentes simulados (10; 0 con Asterisk) / simulated agents (10; 0 on Asterisk)"),
    ] = None,
    campaign: Annotated[str, typer.Option("--campaign", help="Campaña a marcar / campaign to dial")] = "demo",
    speed: Annotated[
        float, typer.Option("--speed", min=0.1, max=100.0, help="Velocidad del tiempo simulado / simulated time speed")
    ] = 1.0,
    no_ivr: Annotated[
        bool, typer.Option("--no-ivr", help="Sin el IVR (servidor FastAGI) / without the IVR (FastAGI server)")
    ] = False,
) -> None:
    """La plataforma completa (central simulada o Asterisk). / The whole platform (simulated PBX or Asterisk)."""
    from ivr.prompts.tts import EspeakEngine
    from recobro.runtime.settings import load_settings
    from recobro.runtime.wiring import ServeOptions

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    if sim_agents is None:  # simulated agents on Asterisk would call softphones that may not exist
        sim_agents = 0 if settings.telephony == "asterisk" else 10
    ivr = not no_ivr
    if ivr and not EspeakEngine.available():
        _say("Falta espeak-ng: el IVR no se inicia (apt-get install espeak-ng) / espeak-ng is missing: the IVR "
             "is not started (apt-get install espeak-ng)")
        ivr = False
    options = ServeOptions(campaign=campaign, sim_agents=sim_agents, speed=speed, ivr=ivr)
    s = asyncio.run(_serve(settings, options))
    _say(
        f"Detenido / Stopped. marcadas/dials {s['dials']} · conectadas/connects {s['connects']} · "
        f"abandonadas/abandoned {s['abandoned']} · calificadas/dispositions {s['dispositions']}"
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
