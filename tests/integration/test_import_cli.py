"""``recobro import accounts`` end to end: CSV file in, rows in the database, report and JSON out."""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.engine import Row
from typer.testing import CliRunner

from recobro.runtime import cli_import
from recobro.storage.db import make_engine
from recobro.storage.models import AccountRow, Base, CampaignAccountRow, CampaignRow, PhoneRow

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample" / "accounts-demo.csv"
HEADER = ["external_ref", "debtor_name", "phone1", "phone2", "balance", "due_date", "state", "segment", "producto"]
FIRST = ["María", "José", "Guadalupe", "Juan", "Rosa", "Luis", "Ana", "Carlos", "Lucía", "Jorge"]
LAST = ["Peña", "Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez", "Sánchez", "Ramírez"]

# (cells that differ from a good row, column the report must name, word the reason must hold)
BAD_ROWS: list[tuple[dict[str, str], str, str]] = [
    ({"phone1": "12345"}, "phone1", "invalid number"),
    ({"balance": "-150.00"}, "balance", "negative"),
    ({"due_date": "31/12/2025"}, "due_date", "YYYY-MM-DD"),
    ({"external_ref": "C-00007"}, "external_ref", "already on line 9"),
    ({"debtor_name": ""}, "debtor_name", "required"),
    ({"debtor_name": "Ana\r\nRuiz"}, "debtor_name", "control characters"),
    ({"state": "MX-XYZ"}, "state", "does not exist"),
    ({"balance": "1.234,50"}, "balance", "decimal mark"),
    ({"phone2": "55-CALL-NOW"}, "phone2", "invalid number"),
    ({"due_date": "2025-02-30"}, "due_date", "YYYY-MM-DD"),
]


def good_row(i: int) -> dict[str, str]:
    return {
        "external_ref": f"C-{i:05d}",
        "debtor_name": f"{FIRST[i % 10]} {LAST[(i // 10) % 10]} {LAST[(i // 100) % 10]}",
        "phone1": f"55 {i:04d} {7000 + i % 1000:04d}",
        "phone2": "" if i % 3 else f"+1 (602) 555-{i % 10000:04d}",
        "balance": f"{(i * 37) % 20000 + 100}.{i % 100:02d}",
        "due_date": f"2026-0{1 + i % 2}-{1 + i % 28:02d}",
        "state": ["MX-CMX", "MX-JAL", "MX-NLE", ""][i % 4],
        "segment": "temprana" if i % 2 else "media",
        "producto": "TDC",
    }


def write_csv(path: Path, rows: Sequence[dict[str, str]], *, delimiter: str = ",", encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER, delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def thousand_and_ten(path: Path) -> tuple[Path, list[int]]:
    """1,000 good rows with 10 bad ones among them; returns the file and the bad rows' lines."""
    rows: list[dict[str, str]] = []
    bad_lines: list[int] = []
    good = 0
    line = 2  # physical line of the next row: a quoted line break inside a cell moves the rest down
    for n in range(1010):
        if n % 100 == 50:
            cells, _, _ = BAD_ROWS[n // 100]
            rows.append({**good_row(5000 + n), **cells})
            bad_lines.append(line)
        else:
            rows.append(good_row(good))
            good += 1
        line += 1 + sum(cell.count("\n") for cell in rows[-1].values())
    return write_csv(path, rows), bad_lines


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECOBRO_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("RECOBRO_DATABASE_URL", raising=False)
    monkeypatch.delenv("RECOBRO_REGION", raising=False)
    return tmp_path / "var"


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'recobro.sqlite3'}"


def run(*args: str) -> tuple[int, str, dict[str, Any] | None]:
    """Invoke the command; returns the exit code, all output, and the last line as JSON if it is."""
    result = CliRunner().invoke(cli_import.app, ["accounts", *args, "--today", "2026-03-15"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stdout.strip().splitlines()
    last = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None
    return result.exit_code, result.output, last


def query(url: str, stmt: Any) -> list[Row[Any]]:
    async def go() -> list[Row[Any]]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                return list(await conn.execute(stmt))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def execute(url: str, stmt: Any) -> None:
    async def go() -> None:
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(stmt)
        finally:
            await engine.dispose()

    asyncio.run(go())


def count(url: str, model: Any) -> int:
    return int(query(url, select(func.count()).select_from(model))[0][0])


def read_report(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_thousand_good_ten_bad_then_reimport(tmp_path: Path, data_dir: Path) -> None:
    source, bad_lines = thousand_and_ten(tmp_path / "cuentas.csv")
    code, output, summary = run(str(source), "--campaign", "Temprana marzo", "--json")
    assert code == 0, output
    assert summary is not None
    assert (summary["imported"], summary["updated"], summary["unchanged"], summary["rejected"]) == (1000, 0, 0, 10)
    assert summary["rows"] == 1010
    assert summary["encoding"] == "utf-8"
    assert summary["campaign"] == "Temprana marzo"
    assert Path(summary["report"]) == (tmp_path / "cuentas.rejected.csv")

    report = read_report(tmp_path / "cuentas.rejected.csv")
    assert [int(r["line"]) for r in report] == bad_lines
    for row, (_, column, words) in zip(report, BAD_ROWS, strict=True):
        assert row["column"] == column
        assert words in row["reason"], row

    url = sqlite_url(data_dir)
    assert count(url, AccountRow) == 1000
    (campaign,) = query(url, select(CampaignRow.id, CampaignRow.paused).where(CampaignRow.name == "Temprana marzo"))
    assert campaign.paused is True
    assert count(url, CampaignAccountRow) == 1000
    assert count(url, PhoneRow) == sum(1 if i % 3 else 2 for i in range(1000))
    (acc,) = query(url, select(AccountRow).where(AccountRow.external_ref == "C-00042"))
    assert acc.debtor_name == good_row(42)["debtor_name"]
    assert acc.balance == Decimal(good_row(42)["balance"])
    assert acc.extra == {"producto": "TDC"}
    assert acc.state == "MX-NLE" and acc.currency == "MXN" and acc.language == "es"

    code, output, again = run(str(source), "--campaign", "Temprana marzo", "--json")
    assert code == 0, output
    assert again is not None
    assert (again["imported"], again["updated"], again["unchanged"], again["rejected"]) == (0, 0, 1000, 10)
    assert count(url, AccountRow) == 1000
    assert count(url, CampaignAccountRow) == 1000


def test_changed_row_is_updated_and_phone_flags_kept(tmp_path: Path, data_dir: Path) -> None:
    rows = [good_row(i) for i in range(30)]
    source = write_csv(tmp_path / "a.csv", rows)
    assert run(str(source), "--campaign", "c1", "--json")[0] == 0
    url = sqlite_url(data_dir)
    (acc_id,) = query(url, select(AccountRow.id).where(AccountRow.external_ref == "C-00003"))[0]
    execute(url, update(PhoneRow).where(PhoneRow.account_id == acc_id, PhoneRow.position == 1).values(consent=True))
    execute(url, update(AccountRow).where(AccountRow.id == acc_id).values(do_not_call=True))

    rows[3] = {**rows[3], "balance": "99.99", "phone2": "33 1234 5678"}
    write_csv(source, rows)
    code, output, summary = run(str(source), "--campaign", "c1", "--json")
    assert code == 0, output
    assert summary is not None
    assert (summary["imported"], summary["updated"], summary["unchanged"]) == (0, 1, 29)
    (acc,) = query(url, select(AccountRow.balance, AccountRow.do_not_call).where(AccountRow.id == acc_id))
    assert acc.balance == Decimal("99.99") and acc.do_not_call is True
    phones = query(url, select(PhoneRow.position, PhoneRow.e164, PhoneRow.consent).where(PhoneRow.account_id == acc_id))
    assert sorted(phones) == [(1, "+525500037003", True), (2, "+523312345678", False)]

    other = run(str(source), "--campaign", "c2", "--json")[2]
    assert other is not None and other["unchanged"] == 30 and other["campaign"] == "c2"
    assert count(url, CampaignAccountRow) == 60


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"external_ref,name,phone1,balance,due_date\nA-1,Ana,5512345678,1,2026-01-01\n", "'debtor_name'"),
        (b"cuenta;nombre;telefono\n1;2;3\n", "Missing required columns"),
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"external_ref,debtor_name,phone1,balance,due_date\r\n", "only the header"),
        (b"\x00\x01\x02binary\xff\xfe\x00" * 50, "not text"),
        (b"PK\x03\x04\x14\x00\x00\x00", "Excel"),
    ],
)
def test_unreadable_files_exit_non_zero_and_write_nothing(
    tmp_path: Path, data_dir: Path, content: bytes, words: str
) -> None:
    source = tmp_path / "malo.csv"
    source.write_bytes(content)
    code, output, last = run(str(source), "--campaign", "x", "--json")
    assert code != 0
    assert words in output
    assert last is not None and "error" in last and "imported" not in last
    assert not (tmp_path / "malo.rejected.csv").exists()
    assert not (data_dir / "recobro.sqlite3").exists()


def test_missing_file(tmp_path: Path, data_dir: Path) -> None:
    code, output, _ = run(str(tmp_path / "nope.csv"), "--campaign", "x")
    assert code != 0 and "Could not read the file" in output


def test_cp1252_semicolons_and_formula_text(tmp_path: Path, data_dir: Path) -> None:
    rows = [good_row(1), {**good_row(2), "debtor_name": "=HYPERLINK(\"http://x\";\"Peña\")"}, good_row(3)]
    rows[0]["debtor_name"] = "Íñigo Peña Muñoz"
    source = write_csv(tmp_path / "excel.csv", rows, delimiter=";", encoding="cp1252")
    code, output, summary = run(str(source), "--campaign", "c", "--json")
    assert code == 0, output
    assert summary is not None and summary["encoding"] == "cp1252" and summary["imported"] == 3
    assert "read as cp1252" in output
    url = sqlite_url(data_dir)
    names = {r[0] for r in query(url, select(AccountRow.debtor_name))}
    assert "Íñigo Peña Muñoz" in names
    assert "=HYPERLINK(\"http://x\";\"Peña\")" in names


def test_us_region_and_state(tmp_path: Path, data_dir: Path) -> None:
    rows = [{**good_row(1), "phone1": "(212) 555-0100", "phone2": "", "state": ""},
            {**good_row(2), "phone1": "602 555 0147", "phone2": "", "state": "US-AZ"}]
    source = write_csv(tmp_path / "us.csv", rows)
    summary = run(str(source), "--campaign", "us", "--region", "us", "--json")[2]
    assert summary is not None and summary["imported"] == 2
    got = query(sqlite_url(data_dir), select(AccountRow.external_ref, AccountRow.currency, AccountRow.language))
    assert sorted(got) == [("C-00001", "USD", "en"), ("C-00002", "USD", "en")]


def test_human_output_and_empty_report(tmp_path: Path, data_dir: Path) -> None:
    source = write_csv(tmp_path / "ok.csv", [good_row(i) for i in range(5)])
    code, output, last = run(str(source), "--campaign", "demo")
    assert code == 0, output
    assert last is None
    for words in ("Nuevas / Imported", "Rechazadas / Rejected", "demo (nueva / new)"):
        assert words in output
    assert read_report(tmp_path / "ok.rejected.csv") == []


def test_bad_campaign_and_region_refused(tmp_path: Path, data_dir: Path) -> None:
    source = write_csv(tmp_path / "ok.csv", [good_row(1)])
    assert run(str(source), "--campaign", "a\nb")[0] != 0
    assert run(str(source), "--campaign", "x", "--region", "Mexico")[0] != 0
    assert not (data_dir / "recobro.sqlite3").exists()


def test_registered_in_the_recobro_command(tmp_path: Path, data_dir: Path) -> None:
    source = write_csv(tmp_path / "ok.csv", [good_row(i) for i in range(3)])
    env = {**os.environ, "RECOBRO_DATA_DIR": str(data_dir)}
    proc = subprocess.run(
        [sys.executable, "-m", "recobro.runtime.cli", "import", "accounts", str(source), "--campaign", "sub", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["imported"] == 3


def test_sample_file_is_what_its_script_writes_and_imports(tmp_path: Path, data_dir: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_sample_accounts", ROOT / "scripts" / "make_sample_accounts.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert SAMPLE.read_text(encoding="utf-8") == script.generate()

    source = tmp_path / "accounts-demo.csv"
    source.write_bytes(SAMPLE.read_bytes())
    code, output, summary = run(str(source), "--campaign", "demo", "--json")
    assert code == 0, output
    assert summary is not None
    assert (summary["imported"], summary["rejected"]) == (300, len(script.BAD_ROWS))
    assert summary["unverified_phones"] == 0
    report = read_report(tmp_path / "accounts-demo.rejected.csv")
    assert [r["column"] for r in report] == [
        "phone1", "balance", "due_date", "external_ref", "debtor_name", "debtor_name"
    ]
    url = sqlite_url(data_dir)
    names = {r[0] for r in query(url, select(AccountRow.debtor_name))}
    assert script.FORMULA_NAME in names
    regions = dict(query(url, select(AccountRow.region, func.count()).group_by(AccountRow.region)))
    assert set(regions) == {"MX", "US"} and min(regions.values()) >= 50
    states = {r[0] for r in query(url, select(AccountRow.state).distinct())}
    assert {"US-TX", "US-AZ", "US-CA", "MX-CMX", "MX-JAL", "MX-NLE", None} <= states


@pytest.mark.postgres
def test_on_postgres(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def reset() -> None:
        engine = make_engine(postgres_url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.drop_all)
                await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        finally:
            await engine.dispose()

    asyncio.run(reset())
    monkeypatch.setenv("RECOBRO_DATABASE_URL", postgres_url)
    monkeypatch.setenv("RECOBRO_DATA_DIR", str(tmp_path / "var"))
    source, _ = thousand_and_ten(tmp_path / "pg.csv")
    first = run(str(source), "--campaign", "pg", "--json")[2]
    assert first is not None
    assert (first["imported"], first["rejected"]) == (1000, 10)
    second = run(str(source), "--campaign", "pg", "--json")[2]
    assert second is not None and second["unchanged"] == 1000
    assert count(postgres_url, AccountRow) == 1000
    assert count(postgres_url, CampaignAccountRow) == 1000
    assert not (tmp_path / "var" / "recobro.sqlite3").exists()
