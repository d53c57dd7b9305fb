"""``recobro simulate``: one campaign on the simulated PBX in virtual time (shared/scenario-format.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from recobro.domain.errors import ValidationError

_LABELS = {
    "dials": "Llamadas marcadas / Dials",
    "live_answers": "Contestó una persona / Live answers",
    "machine_answers": "Contestó una máquina / Machine answers",
    "connects": "Conectadas con agente / Connected to an agent",
    "abandoned": "Abandonadas / Abandoned",
    "abandon_rate": "Tasa de abandono / Abandon rate",
    "agent_utilization": "Ocupación de agentes / Agent utilization",
    "talk_minutes_per_agent_hour": "Minutos de conversación por hora-agente / Talk min per agent-hour",
    "mean_wait_seconds": "Espera media entre llamadas (s) / Mean wait between calls (s)",
    "max_dial_ratio": "Relación de marcación máxima / Max dial ratio",
    "list_exhausted": "Lista agotada / List exhausted",
    "wall_seconds": "Tiempo real (s) / Wall time (s)",
}


def simulate_command(
    scenario: Annotated[Path, typer.Option("--scenario", help="Archivo TOML del escenario / scenario TOML file")],
    strategy: Annotated[str, typer.Option("--strategy", help="progressive | ratio | predictive | oracle")],
    ratio: Annotated[float | None, typer.Option("--ratio", help="Relación fija para 'ratio' / fixed ratio")] = None,
    target: Annotated[
        float | None, typer.Option("--target", help="Sustituye target_abandon del escenario / overrides target_abandon")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Un objeto JSON / one JSON object")] = False,
) -> None:
    """Simula una campaña en tiempo virtual. / Simulate one campaign in virtual time."""
    from recobro.runtime.simulation import simulate
    from recobro.telephony.sim.scenario import load_scenario

    try:
        result = simulate(load_scenario(scenario), strategy, ratio=ratio, target=target)
    except ValidationError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title=f"{result['scenario']} · {result['strategy']} · semilla/seed {result['seed']}")
    table.add_column("Medida / Measure")
    table.add_column("Valor / Value", justify="right")
    for key, label in _LABELS.items():
        table.add_row(label, str(result[key]))
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)
