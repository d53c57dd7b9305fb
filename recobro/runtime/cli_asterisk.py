"""``recobro asterisk``: render Asterisk's configuration, and run a real Asterisk in a sandbox.

``config --out DIR`` writes the configuration for an existing Asterisk (copy it to /etc/asterisk,
or point ``--etc-dir`` where it will live). ``sandbox up|down|status`` installs Asterisk once into
a cached Debian sid chroot under the data directory and runs it with the same configuration
(root only). The platform then reaches it with the usual RECOBRO_AMI_* settings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from recobro.domain.errors import ValidationError

app = typer.Typer(help="Asterisk real: configuración y sandbox / Real Asterisk: configuration and sandbox",
                  no_args_is_help=True)
sandbox_app = typer.Typer(help="Asterisk en un chroot de Debian sid (root) / Asterisk in a Debian sid chroot (root)",
                          no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")


def sandbox_dir(data_dir: Path) -> Path:
    """Where the chroot is cached: RECOBRO_ASTERISK_SANDBOX_DIR, else <data_dir>/asterisk-sandbox."""
    given = os.environ.get("RECOBRO_ASTERISK_SANDBOX_DIR")
    return Path(given) if given else data_dir / "asterisk-sandbox"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(2)


@app.command("config")
def config_command(
    out: Annotated[Path, typer.Option("--out", help="Directorio de salida / output directory")],
    etc_dir: Annotated[str, typer.Option("--etc-dir", help="Dónde leerá Asterisk los archivos / "
                                         "where Asterisk will read the files")] = "/etc/asterisk",
    sip_bind: Annotated[str, typer.Option("--sip-bind", help="Dirección SIP / SIP bind address")] = "0.0.0.0",
    agent: Annotated[list[str] | None, typer.Option("--agent", help="ID:CONTRASEÑA de un softphone de agente / "
                                                    "ID:PASSWORD of an agent softphone (repeatable)")] = None,
) -> None:
    """Genera la configuración de Asterisk desde la del proyecto. / Render Asterisk's configuration."""
    from dataclasses import replace

    from asterisk_config.render import AgentEndpoint, params_from_settings, write_config
    from recobro.runtime.settings import load_settings

    agents = []
    for item in agent or []:
        agent_id, sep, password = item.partition(":")
        if not sep:
            raise _fail(f"--agent espera ID:CONTRASEÑA / expects ID:PASSWORD, got {agent_id!r}")
        agents.append(AgentEndpoint(agent_id, password))
    try:
        params = params_from_settings(load_settings(), sip_bind=sip_bind, agents=tuple(agents))
        params = replace(params, paths=replace(params.paths, etc_dir=etc_dir))
        written = write_config(params, out)
    except ValidationError as exc:
        raise _fail(str(exc)) from exc
    for path in written:
        typer.echo(str(path))
    typer.echo(f"{len(written)} archivos escritos en {out} / files written to {out}")


@sandbox_app.command("up")
def sandbox_up(
    instance: Annotated[str, typer.Option("--instance", help="Nombre de la instancia / instance name")] = "default",
    http_port: Annotated[int, typer.Option("--http-port", help="Puerto HTTP/WebSocket / HTTP port")] = 8088,
) -> None:
    """Instala (una vez) y arranca Asterisk. / Install (once) and start Asterisk."""
    from asterisk_config.render import params_from_settings
    from asterisk_config.sandbox import Sandbox, SandboxError
    from recobro.runtime.settings import load_settings

    settings = load_settings()
    sandbox = Sandbox(sandbox_dir(settings.data_dir), instance)
    try:
        if sandbox.pid() is not None:
            typer.echo(f"Asterisk ya corre (pid {sandbox.pid()}) / Asterisk is already running")
            return
        if not sandbox.installed:
            typer.echo("Instalando Asterisk en el chroot (una sola vez) / Installing Asterisk into the chroot (once)")
        times = sandbox.install(log=lambda m: typer.echo(f"  {m}"))
        if times is not None:
            typer.echo(f"  debootstrap {times.debootstrap:.1f} s, apt {times.packages:.1f} s")
        params = params_from_settings(settings, sip_bind="127.0.0.1", http_port=http_port, test_contexts=True)
        boot = sandbox.start(params)
    except (SandboxError, ValidationError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(
        f"{sandbox.version()} listo en {boot:.1f} s (pid {sandbox.pid()}) / ready. "
        f"AMI {params.ami_bind}:{params.ami_port} usuario/user {params.ami_user}; "
        f"SIP 127.0.0.1:{params.sip_port}; carrier {params.carrier_host}"
    )


@sandbox_app.command("down")
def sandbox_down(
    instance: Annotated[str, typer.Option("--instance", help="Nombre de la instancia / instance name")] = "default",
) -> None:
    """Detiene Asterisk limpiamente. / Stop Asterisk cleanly."""
    from asterisk_config.sandbox import Sandbox
    from recobro.runtime.settings import load_settings

    sandbox = Sandbox(sandbox_dir(load_settings().data_dir), instance)
    if sandbox.stop():
        typer.echo("Asterisk detenido / Asterisk stopped")
    else:
        typer.echo("Asterisk no estaba corriendo / Asterisk was not running")


@sandbox_app.command("status")
def sandbox_status(
    instance: Annotated[str, typer.Option("--instance", help="Nombre de la instancia / instance name")] = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Un objeto JSON / one JSON object")] = False,
) -> None:
    """Dice si Asterisk está instalado y corriendo. / Say whether Asterisk is installed and running."""
    from asterisk_config.sandbox import Sandbox
    from recobro.runtime.settings import load_settings

    status = Sandbox(sandbox_dir(load_settings().data_dir), instance).status()
    if as_json:
        typer.echo(json.dumps({"installed": status.installed, "running": status.running, "pid": status.pid,
                               "version": status.version, "instance": status.instance, "root": str(status.root)}))
    else:
        installed = f"sí/yes ({status.version})" if status.installed else "no"
        running = f"sí/yes, pid {status.pid}" if status.running else "no"
        typer.echo(f"Chroot: {status.root}\nInstalado / Installed: {installed}\nCorriendo / Running: {running}")
        if status.detail:
            typer.echo(status.detail)
    raise typer.Exit(0 if status.running else 3)
