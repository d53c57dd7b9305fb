"""``recobro demo seed``: the supervisor, the simulated agents and the campaign "demo" (idempotent)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import Annotated

import typer

app = typer.Typer(help="Demostración / Demo", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Datos de demostración. / Demo data."""


@app.command("seed")
def seed(
    sim_agents: Annotated[
        int, typer.Option("--sim-agents", min=0, max=99, help="Agentes simulados sim01.. / simulated agents")
    ] = 10,
    campaign: Annotated[str, typer.Option("--campaign", help="Nombre de la campaña / campaign name")] = "demo",
) -> None:
    """Crea lo que falte de la demostración. / Create whatever the demo is missing."""
    from recobro.runtime.demo_seed import SUPERVISOR, SeedReport, seed_demo, sim_username
    from recobro.runtime.settings import load_settings
    from recobro.storage.db import make_engine, make_sessionmaker
    from recobro.storage.migrate import upgrade_to_head

    settings = load_settings()
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    upgrade_to_head(url)
    given = os.environ.get("RECOBRO_DEMO_PASSWORD") or None

    async def run() -> SeedReport:
        db = make_engine(url)
        try:
            return await seed_demo(
                make_sessionmaker(db), sim_agents=sim_agents, company=settings.company_name,
                callback_number=settings.callback_number, now=datetime.now(UTC), password=given, campaign=campaign,
            )
        finally:
            await db.dispose()

    report = asyncio.run(run())
    if report.campaign_created:
        typer.echo(
            f"Campaña '{campaign}' creada: predictiva, en marcha, horario 00:00-23:59 (la ley de cada país lo acota) / "
            f"Campaign '{campaign}' created: predictive, running, window 00:00-23:59 (each country's law bounds it)"
        )
    else:
        typer.echo(f"La campaña '{campaign}' ya existe / Campaign '{campaign}' already exists")
    if report.supervisor_created:
        if given:
            typer.echo(
                f"Supervisor creado: usuario '{SUPERVISOR}', contraseña de RECOBRO_DEMO_PASSWORD / "
                f"Supervisor created: user '{SUPERVISOR}', password from RECOBRO_DEMO_PASSWORD"
            )
        else:
            typer.echo(
                f"Supervisor creado: usuario '{SUPERVISOR}', contraseña {report.password} (se muestra una sola vez) / "
                f"Supervisor created: user '{SUPERVISOR}', password {report.password} (shown only once)"
            )
    else:
        typer.echo(f"El supervisor '{SUPERVISOR}' ya existe / Supervisor '{SUPERVISOR}' already exists")
    if report.agents_created:
        names = f"{report.agents_created[0]}..{report.agents_created[-1]}"
        same = " (misma contraseña / same password)" if report.supervisor_created else ""
        typer.echo(f"Agentes simulados creados / Simulated agents created: {names}{same}")
    elif sim_agents:
        typer.echo(
            f"Los agentes simulados ya existen / Simulated agents already exist: sim01..{sim_username(sim_agents)}"
        )
    typer.echo(
        f"Siguiente / Next: recobro import accounts sample/accounts-demo.csv --campaign {campaign} ; recobro serve"
    )
