"""The rejected-rows report: ``FILE.rejected.csv`` next to the input, one line per problem.

It is always written, with its header even when nothing was rejected, so that a report left
over from an earlier run of the same file can never be mistaken for this run's. Every cell is
passed through ``neutralize_formula``: a value such as ``=HYPERLINK(...)`` from the input
must not become a live formula when the creditor opens the report in a spreadsheet.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from recobro.domain.text import neutralize_formula
from recobro.importing.errors import RowError

REPORT_COLUMNS = ("line", "column", "value", "reason")
_MAX_VALUE = 500  # a runaway quoted cell can hold the rest of the file


def report_path(source: Path) -> Path:
    """``accounts.csv`` -> ``accounts.rejected.csv``; another suffix is kept: ``a.txt.rejected.csv``."""
    stem = source.name[:-4] if source.name.lower().endswith(".csv") else source.name
    return source.with_name(f"{stem}.rejected.csv")


def _safe(value: str) -> str:
    if len(value) > _MAX_VALUE:
        value = value[:_MAX_VALUE] + "…"
    return neutralize_formula(value)


def write_report(path: Path, errors: Iterable[RowError]) -> int:
    """Write the report (UTF-8, comma-separated, header first); returns the number of lines written."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(REPORT_COLUMNS)
        for err in errors:
            writer.writerow([str(err.line), _safe(err.column), _safe(err.value), _safe(err.reason)])
            count += 1
    return count
