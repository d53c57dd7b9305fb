"""Generate sample/accounts-demo.csv: fictitious Mexican and US delinquent accounts for the demo.

    .venv/bin/python scripts/make_sample_accounts.py [--out sample/accounts-demo.csv] [--seed 2026]

Deterministic (fixed seed, fixed dates): running it again gives the same bytes, and a test
checks that the committed file is what this script writes. Every name is invented from lists
of common names; every number is one phonenumbers accepts as valid (Mexican numbers in the
Mexico City, Guadalajara and Monterrey areas, US numbers with real area codes) but is random.

Besides the good rows, a few are wrong on purpose so that the demo shows the rejected-rows
report (see ``BAD_ROWS``); one good row has a name that looks like a spreadsheet formula,
which must be stored as text and come out escaped in any export.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from datetime import date, timedelta
from pathlib import Path

from recobro.compliance.numbers import parse_phone

HEADER = [
    "external_ref", "debtor_name", "national_id", "phone1", "phone2", "phone3", "balance", "currency",
    "due_date", "days_past_due", "segment", "risk_score", "language", "state", "producto",
]
MX_FIRST = ["María", "José", "Guadalupe", "Juan", "Rosa", "Luis", "Ana", "Carlos", "Lucía", "Jorge", "Fernanda",
            "Miguel", "Alejandra", "Ricardo", "Verónica", "Héctor", "Paola", "Raúl", "Daniela", "Arturo", "Mónica",
            "Sergio", "Claudia", "Eduardo", "Adriana", "Íñigo", "Ximena", "Ramón", "Itzel", "Joaquín"]
MX_LAST = ["Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez", "Sánchez", "Ramírez",
           "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Reyes", "Jiménez", "Torres", "Díaz", "Gutiérrez",
           "Ruiz", "Mendoza", "Aguilar", "Ortiz", "Castillo", "Peña", "Núñez", "Ibáñez", "Salazar", "Orozco"]
US_FIRST = ["James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda", "William", "Elizabeth",
            "Christopher", "Jessica", "Daniel", "Sarah", "Matthew", "Karen", "Anthony", "Nancy", "Carlos", "Maria",
            "José", "Ana", "Luis", "Rosa"]
US_LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
           "Thomas", "Moore", "Garcia", "Martinez", "Rodriguez", "Lopez", "Hernandez", "Gonzalez", "Nguyen", "Lee"]
MX_AREAS = [("55", "MX-CMX"), ("33", "MX-JAL"), ("81", "MX-NLE")]
US_AREAS = [("713", "US-TX"), ("214", "US-TX"), ("512", "US-TX"), ("602", "US-AZ"), ("480", "US-AZ"),
            ("520", "US-AZ"), ("213", "US-CA"), ("415", "US-CA"), ("619", "US-CA")]
SPANISH_SPEAKERS = {"Carlos", "Maria", "José", "Ana", "Luis", "Rosa"}
PRODUCTS = ["Tarjeta de crédito", "Préstamo personal", "Crédito de nómina", "Auto", "Línea departamental"]
SEGMENTS = ["temprana", "media", "tardía"]
BASE_DUE = date(2026, 3, 1)
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "sample" / "accounts-demo.csv"

# (position in the file among the data rows, what is wrong) — applied over a generated good row.
BAD_ROWS: list[tuple[int, str]] = [
    (23, "bad_phone"),
    (61, "negative_balance"),
    (118, "bad_date"),
    (164, "duplicate_ref"),
    (207, "missing_name"),
    (251, "line_break_in_name"),
]
FORMULA_ROW = 142
FORMULA_NAME = '=HYPERLINK("http://example.com/pagar","Pagar aquí")'


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _mx_phone(rng: random.Random, area: str) -> str:
    while True:
        local = str(rng.randint(2, 9)) + _digits(rng, 7)
        if parse_phone(area + local, "MX").valid:
            break
    style = rng.randrange(5)
    if style == 0:
        return f"+52 {area} {local[:4]} {local[4:]}"
    if style == 1:
        return f"({area}) {local[:4]}-{local[4:]}"
    if style == 2:
        return f"+52 1 {area} {local[:4]} {local[4:]}"  # the retired mobile prefix, still common
    return area + local


def _us_phone(rng: random.Random, area: str) -> str:
    while True:
        exchange = f"{rng.randint(2, 9)}{_digits(rng, 2)}"
        line = _digits(rng, 4)
        if exchange[1:] != "11" and parse_phone(f"{area}{exchange}{line}", "US").valid:
            break
    return f"({area}) {exchange}-{line}" if rng.random() < 0.7 else f"+1 {area}-{exchange}-{line}"


def _curp_like(rng: random.Random) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    birth = date(1960, 1, 1) + timedelta(days=rng.randint(0, 15000))
    return (
        "".join(rng.choice(letters) for _ in range(4))
        + birth.strftime("%y%m%d")
        + rng.choice("HM")
        + rng.choice(["DF", "JC", "NL", "MC"])
        + "".join(rng.choice(letters) for _ in range(3))
        + _digits(rng, 2)
    )


def _good_row(rng: random.Random, i: int) -> dict[str, str]:
    mexican = rng.random() < 0.7
    due = BASE_DUE - timedelta(days=rng.randint(1, 120))
    row = dict.fromkeys(HEADER, "")
    row["external_ref"] = f"{'MX' if mexican else 'US'}-{100000 + i * 7:07d}"
    row["balance"] = f"{rng.randint(300, 95000):,}.{rng.randint(0, 99):02d}" if rng.random() < 0.3 else (
        f"{rng.randint(300, 95000)}.{rng.randint(0, 99):02d}"
    )
    row["due_date"] = due.isoformat()
    row["segment"] = rng.choice(SEGMENTS)
    row["risk_score"] = str(rng.randint(50, 980))
    row["producto"] = rng.choice(PRODUCTS)
    if rng.random() < 0.2:
        row["days_past_due"] = str((BASE_DUE - due).days)
    if mexican:
        area, state = rng.choice(MX_AREAS)
        row["debtor_name"] = f"{rng.choice(MX_FIRST)} {rng.choice(MX_LAST)} {rng.choice(MX_LAST)}"
        row["national_id"] = _curp_like(rng) if rng.random() < 0.6 else ""
        row["phone1"] = _mx_phone(rng, area)
        if rng.random() < 0.4:
            row["phone2"] = _mx_phone(rng, rng.choice(MX_AREAS)[0])
        row["state"] = state if rng.random() < 0.75 else ""
        row["currency"] = "MXN" if rng.random() < 0.2 else ""
    else:
        area, state = rng.choice(US_AREAS)
        row["debtor_name"] = f"{rng.choice(US_FIRST)} {rng.choice(US_LAST)}"
        row["national_id"] = _digits(rng, 4) if rng.random() < 0.5 else ""
        row["phone1"] = _us_phone(rng, area)
        if rng.random() < 0.3:
            row["phone2"] = _us_phone(rng, area)
        if rng.random() < 0.1:
            row["phone3"] = _us_phone(rng, rng.choice(US_AREAS)[0])
        row["state"] = state
        row["language"] = "es" if row["debtor_name"].split()[0] in SPANISH_SPEAKERS else ""
    return row


def _spoil(row: dict[str, str], kind: str, earlier_ref: str) -> dict[str, str]:
    if kind == "bad_phone":
        return {**row, "phone1": "55 1234"}
    if kind == "negative_balance":
        return {**row, "balance": "-1250.00"}
    if kind == "bad_date":
        return {**row, "due_date": "15/02/2026"}
    if kind == "duplicate_ref":
        return {**row, "external_ref": earlier_ref}
    if kind == "missing_name":
        return {**row, "debtor_name": ""}
    if kind == "line_break_in_name":
        return {**row, "debtor_name": row["debtor_name"].replace(" ", "\n", 1)}
    raise ValueError(kind)


def generate(seed: int = 2026, good: int = 300) -> str:
    """The CSV text: ``good`` valid accounts with the rows of ``BAD_ROWS`` among them."""
    rng = random.Random(seed)
    rows = [_good_row(rng, i) for i in range(good)]
    rows[FORMULA_ROW] = {**rows[FORMULA_ROW], "debtor_name": FORMULA_NAME}
    for position, kind in sorted(BAD_ROWS):
        rows.insert(position, _spoil(_good_row(rng, good + position), kind, rows[5]["external_ref"]))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--good", type=int, default=300)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(generate(args.seed, args.good), encoding="utf-8", newline="")
    bad = len(BAD_ROWS)
    print(f"{args.out}: {args.good} cuentas + {bad} filas con errores / {args.good} accounts + {bad} bad rows")


if __name__ == "__main__":
    main()
