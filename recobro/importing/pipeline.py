"""The import as the CLI and the benchmark run it: read, validate, report, then store.

Split in two so that the caller controls what happens between them: ``prepare`` is
synchronous and writes nothing but the report (a refused file writes nothing at all); the
caller then migrates the database and runs ``store`` in its event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from recobro.domain.errors import ValidationError
from recobro.domain.text import clean_text
from recobro.importing.csv_reader import read_csv
from recobro.importing.errors import FileRefused, RowError
from recobro.importing.loader import DEFAULT_CHUNK, load_accounts
from recobro.importing.report import report_path, write_report
from recobro.importing.rows import AccountDraft, RowRules, RowValidator

LineProgress = Callable[[int, int], None]  # (lines read so far, lines in the file)
WriteProgress = Callable[[int], None]  # accounts just written


@dataclass(slots=True)
class Prepared:
    """A file read and validated; ``drafts`` go to storage, ``errors`` are in the report."""

    source: Path
    report: Path
    encoding: str
    delimiter: str
    rows: int
    drafts: list[AccountDraft]
    errors: list[RowError]
    rejected: int
    unverified_phones: int
    extra_columns: tuple[str, ...]
    started: float = field(default_factory=time.perf_counter)


@dataclass(frozen=True, slots=True)
class ImportSummary:
    prepared: Prepared
    campaign: str
    campaign_created: bool
    imported: int
    updated: int
    unchanged: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` object: the contract's keys first, then the details."""
        p = self.prepared
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": p.rejected,
            "report": str(p.report.absolute()),
            "rows": p.rows,
            "errors": len(p.errors),
            "encoding": p.encoding,
            "delimiter": p.delimiter,
            "campaign": self.campaign,
            "campaign_created": self.campaign_created,
            "unverified_phones": p.unverified_phones,
            "extra_columns": list(p.extra_columns),
            "seconds": round(self.seconds, 3),
        }


def check_campaign_name(name: str) -> str:
    """A campaign name as stored (1-100 characters, no control characters); FileRefused if not."""
    try:
        return clean_text(name, field="campaign", max_len=100)
    except ValidationError:
        raise FileRefused(
            "campaign",
            "El nombre de la campaña debe tener de 1 a 100 caracteres, sin caracteres de control / "
            "The campaign name must be 1-100 characters, without control characters",
        ) from None


def prepare(
    source: Path,
    rules: RowRules,
    *,
    report: Path | None = None,
    progress: LineProgress | None = None,
) -> Prepared:
    """Read and validate ``source`` and write its rejected-rows report; FileRefused if unreadable."""
    started = time.perf_counter()
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise FileRefused(
            "unreadable", f"No se pudo leer el archivo / Could not read the file: {source} ({exc.strerror})"
        ) from exc
    table = read_csv(data)
    validator = RowValidator(rules)
    drafts: list[AccountDraft] = []
    errors: list[RowError] = []
    rows = rejected = unverified = 0
    for record in table.records():
        rows += 1
        result = validator.check(record)
        if isinstance(result, AccountDraft):
            drafts.append(result)
            unverified += result.unverified_phones
        else:
            rejected += 1
            errors.extend(result)
        if progress is not None and rows % 1000 == 0:
            progress(record.end_line, table.total_lines)
    if rows == 0:
        raise FileRefused(
            "no_rows",
            "El archivo no tiene filas de cuentas, solo el encabezado / The file has no account rows, only the header",
        )
    if progress is not None:
        progress(table.total_lines, table.total_lines)
    target = report or report_path(source)
    try:
        write_report(target, errors)
    except OSError as exc:
        raise FileRefused(
            "report", f"No se pudo escribir el reporte / Could not write the report: {target} ({exc.strerror})"
        ) from exc
    return Prepared(
        source=source,
        report=target,
        encoding=table.encoding,
        delimiter=table.delimiter,
        rows=rows,
        drafts=drafts,
        errors=errors,
        rejected=rejected,
        unverified_phones=unverified,
        extra_columns=table.extra_columns,
        started=started,
    )


async def store(
    prepared: Prepared,
    engine: AsyncEngine,
    *,
    campaign: str,
    now: datetime,
    chunk_size: int = DEFAULT_CHUNK,
    progress: WriteProgress | None = None,
) -> ImportSummary:
    """Write the good rows of ``prepared`` (one transaction) and sum the import up."""
    result = await load_accounts(
        engine, prepared.drafts, campaign=campaign, now=now, chunk_size=chunk_size, progress=progress
    )
    return ImportSummary(
        prepared=prepared,
        campaign=campaign,
        campaign_created=result.campaign_created,
        imported=result.imported,
        updated=result.updated,
        unchanged=result.unchanged,
        seconds=time.perf_counter() - prepared.started,
    )


def default_rules(region: str, today: date) -> RowRules:
    """Rules for a file read in ``region`` (ISO country, any case) on ``today``."""
    code = region.strip().upper()
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        raise FileRefused(
            "region",
            f"Región inválida '{region}': use un código de país ISO de 2 letras (MX, US) / "
            f"Invalid region '{region}': use a 2-letter ISO country code (MX, US)",
        )
    return RowRules(region=code, today=today)
