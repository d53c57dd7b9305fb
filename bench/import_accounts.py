"""Benchmark: import N generated accounts into a fresh SQLite database, the way the CLI does.

    .venv/bin/python bench/import_accounts.py [--rows 100000] [--seed 7] [--chunk 1000] [--url URL]

Prints one JSON object: {"rows", "seconds", "rows_per_second", "db": "sqlite", ...} where
``seconds`` covers reading, validating, writing the report and the database transaction
(the schema migration is timed apart, as ``migrate_seconds``). ``--url`` points it at another
database (an empty PostgreSQL: ``postgresql+asyncpg://...``) instead of a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from recobro.importing.pipeline import Prepared, default_rules, prepare, store
from recobro.storage.db import make_engine
from recobro.storage.migrate import upgrade_to_head

FIRST = ["María", "José", "Guadalupe", "Juan", "Rosa", "Luis", "Ana", "Carlos", "Lucía", "Jorge", "Sofía", "Miguel"]
LAST = ["Peña", "Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez", "Sánchez", "Ramírez"]
MX_AREAS = ["55", "33", "81", "222", "442", "664", "998"]
US_AREAS = [("212", "US-NY"), ("713", "US-TX"), ("602", "US-AZ"), ("415", "US-CA"), ("305", "US-FL")]
HEADER = ["external_ref", "debtor_name", "national_id", "phone1", "phone2", "balance", "currency", "due_date",
          "segment", "risk_score", "state", "producto"]


def _mx_phone(rng: random.Random) -> str:
    area = rng.choice(MX_AREAS)
    rest = "".join(rng.choice("0123456789") for _ in range(10 - len(area)))
    return f"+52 {area} {rest}"


def generate(path: Path, rows: int, seed: int) -> None:
    """Write ``rows`` valid accounts (80 % Mexican, 20 % US) to ``path``."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for i in range(rows):
            if rng.random() < 0.8:
                phone1, phone2, state, currency = _mx_phone(rng), _mx_phone(rng) if rng.random() < 0.4 else "", "", ""
            else:
                area, state = rng.choice(US_AREAS)
                phone1 = f"({area}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
                phone2, currency = "", "USD"
            writer.writerow([
                f"BENCH-{i:07d}",
                f"{rng.choice(FIRST)} {rng.choice(LAST)} {rng.choice(LAST)}",
                f"{rng.randint(0, 9999):04d}",
                phone1,
                phone2,
                f"{rng.randint(100, 80000)}.{rng.randint(0, 99):02d}",
                currency,
                f"2026-0{rng.randint(1, 2)}-{rng.randint(1, 28):02d}",
                rng.choice(["temprana", "media", "tardía"]),
                str(rng.randint(0, 1000)),
                state,
                rng.choice(["TDC", "Préstamo", "Nómina"]),
            ])


async def _store(prepared: Prepared, url: str, chunk: int) -> tuple[int, float]:
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        summary = await store(prepared, engine, campaign="bench", now=datetime.now(UTC), chunk_size=chunk)
        return summary.imported, time.perf_counter() - started
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--url", default="", help="an empty database instead of a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="recobro-bench-") as tmp:
        source = Path(tmp) / "accounts.csv"
        generate(source, args.rows, args.seed)
        url = args.url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        t0 = time.perf_counter()
        upgrade_to_head(url)
        migrate_seconds = time.perf_counter() - t0

        t1 = time.perf_counter()
        prepared = prepare(source, default_rules("MX", date(2026, 3, 15)))
        validate_seconds = time.perf_counter() - t1
        imported, write_seconds = asyncio.run(_store(prepared, url, args.chunk))
        seconds = time.perf_counter() - t1
    print(json.dumps({
        "rows": args.rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(args.rows / seconds),
        "db": url.split(":", 1)[0].split("+", 1)[0],
        "imported": imported,
        "rejected": prepared.rejected,
        "validate_seconds": round(validate_seconds, 2),
        "write_seconds": round(write_seconds, 2),
        "migrate_seconds": round(migrate_seconds, 2),
    }))


if __name__ == "__main__":
    main()
