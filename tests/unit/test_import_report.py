"""The rejected-rows report: its place, its columns, and no live spreadsheet formulas in it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from recobro.importing.errors import RowError
from recobro.importing.report import REPORT_COLUMNS, report_path, write_report


@pytest.mark.parametrize(
    ("name", "report"),
    [
        ("cuentas.csv", "cuentas.rejected.csv"),
        ("Lista.CSV", "Lista.rejected.csv"),
        ("lista.txt", "lista.txt.rejected.csv"),
    ],
)
def test_report_next_to_the_input(tmp_path: Path, name: str, report: str) -> None:
    assert report_path(tmp_path / name) == tmp_path / report


def test_report_columns_and_escaping(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    errors = [
        RowError(4, "debtor_name", '=HYPERLINK("http://evil","x")\n', "contains control characters"),
        RowError(9, "balance", "-10", "negative"),
        RowError(11, "phone1", "+52 55", "too short"),
        RowError(12, "segment", "@SUM(A1)", "too long"),
        RowError(13, "notes", "x" * 2000, "too long"),
    ]
    assert write_report(path, errors) == 5
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == REPORT_COLUMNS
    assert [r[0] for r in rows[1:]] == ["4", "9", "11", "12", "13"]
    values = [r[2] for r in rows[1:]]
    assert values[:4] == ["'=HYPERLINK(\"http://evil\",\"x\")\n", "'-10", "'+52 55", "'@SUM(A1)"]
    assert len(values[4]) < 600
    assert all(not v or v[0] not in "=+-@" for r in rows[1:] for v in r)


def test_empty_report_has_its_header(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("stale\n", encoding="utf-8")
    assert write_report(path, []) == 0
    assert path.read_bytes() == b"line,column,value,reason\r\n"
