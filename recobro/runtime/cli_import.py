"""``recobro import accounts FILE.csv --campaign NAME``: load a creditor's accounts list.

The work is done by ``recobro.importing.pipeline``; this module only chooses the database
(from Settings), migrates it, and talks to the person at the terminal: a progress bar and a
summary table, or with ``--json`` one JSON object as the last line for scripts.
Exit status: 0 when the file was read (even with rejected rows), 1 when it could not be.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from recobro.importing.errors import FileRefused
from recobro.importing.pipeline import ImportSummary, Prepared, check_campaign_name, default_rules, prepare, store

app = typer.Typer(help="Importar listas / Import lists", no_args_is_help=True)

_SHOWN_ERRORS = 10


@app.callback()
def _group() -> None:
    """Importar listas / Import lists."""  # keeps ``import accounts`` a sub-command, not the only one


def _fail(console: Console, as_json: bool, code: str, message: str) -> None:
    console.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    if as_json:
        typer.echo(json.dumps({"error": code, "message": message}, ensure_ascii=False))
    raise typer.Exit(1)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


async def _store(prepared: Prepared, url: str, campaign: str, console: Console | None) -> ImportSummary:
    from recobro.storage.db import make_engine

    engine = make_engine(url, hide_parameters=True)  # rows carry national ids: never echo them
    try:
        if console is None:
            return await store(prepared, engine, campaign=campaign, now=datetime.now(UTC))
        with _progress(console) as bar:
            task = bar.add_task("Guardando / Writing", total=len(prepared.drafts))
            return await store(
                prepared,
                engine,
                campaign=campaign,
                now=datetime.now(UTC),
                progress=lambda n: bar.advance(task, n),
            )
    finally:
        await engine.dispose()


def _summary_table(summary: ImportSummary) -> Table:
    p = summary.prepared
    table = Table(title="Importación de cuentas / Accounts import", show_header=False, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("", overflow="fold")
    encoding = p.encoding if p.encoding.startswith("utf-8") else f"[yellow]{p.encoding}[/]"
    campaign = summary.campaign + (" (nueva / new)" if summary.campaign_created else "")
    lines: list[tuple[str, Any]] = [
        ("Archivo / File", str(p.source)),
        ("Leído como / Read as", f"{encoding}, '{p.delimiter}'".replace("'\t'", "TAB")),
        ("Campaña / Campaign", campaign),
        ("Filas leídas / Rows read", p.rows),
        ("Nuevas / Imported", summary.imported),
        ("Actualizadas / Updated", summary.updated),
        ("Sin cambios / Unchanged", summary.unchanged),
        ("Rechazadas / Rejected", f"[red]{p.rejected}[/]" if p.rejected else "0"),
        ("Reporte / Report", str(p.report)),
    ]
    if p.unverified_phones:
        lines.append(("Teléfonos no verificados / Unverified phones", p.unverified_phones))
    if p.extra_columns:
        lines.append(("Columnas extra / Extra columns", ", ".join(p.extra_columns)))
    lines.append(("Tiempo / Time", f"{summary.seconds:.2f} s"))
    for label, value in lines:
        table.add_row(label, str(value))
    return table


def _errors_table(prepared: Prepared) -> Table:
    shown = prepared.errors[:_SHOWN_ERRORS]
    table = Table(
        title=f"Primeros rechazos / First rejections ({len(shown)} de / of {len(prepared.errors)})",
        title_justify="left",
    )
    for column in ("Línea / Line", "Columna / Column", "Motivo / Reason"):
        table.add_column(column)
    for err in shown:
        table.add_row(str(err.line), err.column, err.reason)
    return table


def _today(value: str | None) -> date:
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FileRefused("today", f"--today inválido / invalid --today: {value!r}") from None


@app.command("accounts")
def accounts(
    file: Annotated[Path, typer.Argument(help="Archivo CSV de cuentas / Accounts CSV file", show_default=False)],
    campaign: Annotated[
        str, typer.Option("--campaign", "-c", help="Campaña (se crea si no existe) / Campaign (created if missing)")
    ],
    region: Annotated[
        str | None,
        typer.Option(help="País de los números sin código de país (MX) / Country of numbers without a country code"),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Última línea: un objeto JSON / Last line: one JSON object")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(help="Reporte de rechazos (FILE.rejected.csv) / Rejected-rows report (FILE.rejected.csv)"),
    ] = None,
    today: Annotated[str | None, typer.Option(hidden=True, help="AAAA-MM-DD, para pruebas / for tests")] = None,
) -> None:
    """Importa una lista de cuentas a una campaña. / Import an accounts list into a campaign."""
    from recobro.runtime.settings import load_settings
    from recobro.storage.migrate import upgrade_to_head

    console = Console(stderr=as_json)
    settings = load_settings()
    try:
        name = check_campaign_name(campaign)
        rules = default_rules(region or settings.region, _today(today))
        if as_json:
            prepared = prepare(file, rules, report=report)
        else:
            with _progress(console) as bar:
                task = bar.add_task("Leyendo / Reading", total=None)
                prepared = prepare(
                    file,
                    rules,
                    report=report,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
    except FileRefused as exc:
        _fail(console, as_json, exc.code, exc.message)
        return
    if not prepared.encoding.startswith("utf-8"):
        console.print(
            f"[yellow]Archivo leído como {prepared.encoding} (no es UTF-8) / "
            f"File read as {prepared.encoding} (not UTF-8)[/]",
            soft_wrap=True,
        )
    url = settings.effective_database_url
    try:
        if not settings.database_url:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade_to_head(url)
        summary = asyncio.run(_store(prepared, url, name, None if as_json else console))
    except Exception as exc:  # the database refused: say so, nothing was committed
        _fail(
            console,
            as_json,
            "database",
            f"No se pudo escribir en la base de datos; no se importó nada / "
            f"Could not write to the database; nothing was imported: {type(exc).__name__}: {exc}",
        )
        return
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
        return
    console.print(_summary_table(summary))
    if prepared.errors:
        console.print(_errors_table(prepared))
