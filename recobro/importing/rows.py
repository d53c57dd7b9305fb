"""Validation of one accounts-list row: a record in, an ``AccountDraft`` or its ``RowError`` list out.

Pure: no I/O, and "today" (for ``days_past_due``) comes in through ``RowRules``. Every cell
of a row is checked and every problem reported, so that the creditor fixes a row in one go;
one bad cell rejects the whole row (a half-imported account would be dialed with wrong data).

Text is stored as it came (after trimming and Unicode NFC), including a leading ``=``, ``+``,
``-`` or ``@``: neutralizing spreadsheet formulas is the job of whatever exports text again
(``report.py`` here). Control characters (CR, LF, TAB, NUL, escapes, invisible format marks)
are refused in every contract column, since names and references travel into AMI variables,
the dialplan and logs; in extra columns they are turned into spaces, the data being kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import TypeVar

from recobro.compliance.numbers import ParsedPhone, parse_phone
from recobro.domain.accounts import Account, Phone, days_past_due
from recobro.domain.errors import ValidationError
from recobro.domain.text import has_control_chars
from recobro.importing.codes import CURRENCIES, DEFAULT_CURRENCY, RENAMED_SUBDIVISIONS, SUBDIVISIONS
from recobro.importing.csv_reader import KNOWN_COLUMNS, Record
from recobro.importing.errors import RowError

__all__ = ["AccountDraft", "RowError", "RowRules", "RowValidator", "validate_record"]

T = TypeVar("T")

PHONE_COLUMNS = ("phone1", "phone2", "phone3")
ROW_COLUMN = "*"  # the column named in an error about the row as a whole

_AMOUNT = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LANGUAGE = re.compile(r"^(es|en)(?:[-_][a-z]{2})?$")
_SUBDIVISION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")
_MAX_BALANCE = Decimal("999999999999.99")  # Numeric(14, 2)
_MAX_DAYS_PAST_DUE = 36_500
_MAX_EXTRA = 1_000

_TEXT_LIMITS = {"external_ref": 100, "debtor_name": 200, "national_id": 40, "segment": 100}
_SECRET_COLUMNS = frozenset({"national_id"})  # stored, never written back out in clear
_PHONE_MEMO_LIMIT = 200_000

PhoneParser = Callable[[str, str], ParsedPhone]  # (raw, country) -> parsed; ValidationError if not a number


@dataclass(frozen=True, slots=True)
class RowRules:
    """What a row is read against: the file's default country and the day it is imported."""

    region: str = "MX"
    today: date = date(2000, 1, 1)


@dataclass(frozen=True, slots=True)
class AccountDraft:
    """A valid row, ready to store; ``line`` is where it was in the file."""

    line: int
    account: Account
    days_past_due_given: bool  # False: computed from due_date on import day (not part of the hash)
    unverified_phones: int = 0  # possible numbers phonenumbers does not know as assigned


class _CellError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _required(value: str) -> str:
    if not value.strip():
        raise _CellError("vacío; la columna es obligatoria / empty; the column is required")
    return value


def _has_control_chars(value: str) -> bool:
    # isprintable() is False for every control/format/separator character (and for some
    # harmless ones such as NBSP): a fast pass for the common clean cell, the exact check after.
    return not value.isprintable() and has_control_chars(value)


def _text(value: str, column: str) -> str | None:
    """Trimmed NFC text, None when empty; refuses control characters and over-long text."""
    if _has_control_chars(value):
        raise _CellError(
            "contiene caracteres de control (salto de línea, tabulador…) / "
            "contains control characters (line break, tab…)"
        )
    text = unicodedata.normalize("NFC", value.strip())
    if not text:
        return None
    limit = _TEXT_LIMITS[column]
    if len(text) > limit:
        raise _CellError(f"más de {limit} caracteres ({len(text)}) / more than {limit} characters ({len(text)})")
    return text


def _amount(value: str) -> Decimal:
    text = value.strip()
    if text.startswith("-") and _AMOUNT.match(text[1:]):
        raise _CellError("el saldo no puede ser negativo / the balance cannot be negative")
    if not _AMOUNT.match(text):
        raise _CellError(
            "no es un importe; use . como separador decimal (1234.50 o 1,234.50) / "
            "not an amount; use . as the decimal mark (1234.50 or 1,234.50)"
        )
    amount = Decimal(text.replace(",", ""))
    cents = amount.quantize(Decimal("0.01"))
    if cents != amount:
        raise _CellError("más de 2 decimales / more than 2 decimals")
    if cents > _MAX_BALANCE:
        raise _CellError("importe demasiado grande / amount too large")
    return cents


def _due_date(value: str) -> date:
    text = value.strip()
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        due = date.fromisoformat(text)
    except ValueError:
        raise _CellError("fecha inválida; use AAAA-MM-DD / invalid date; use YYYY-MM-DD") from None
    if not 1900 <= due.year <= 2199:
        raise _CellError("año fuera de rango (1900–2199) / year out of range (1900-2199)")
    return due


def _days_past_due(value: str) -> int:
    text = value.strip()
    if not text.isascii() or not text.isdigit() or int(text) > _MAX_DAYS_PAST_DUE:
        raise _CellError(
            f"debe ser un entero de 0 a {_MAX_DAYS_PAST_DUE} / must be a whole number from 0 to {_MAX_DAYS_PAST_DUE}"
        )
    return int(text)


def _risk_score(value: str) -> Decimal:
    text = value.strip()
    try:
        if not _NUMBER.match(text):
            raise InvalidOperation(text)
        score = Decimal(text)
    except InvalidOperation:
        score = Decimal(-1)
    if not Decimal(0) <= score <= Decimal(1000):
        raise _CellError("debe ser un número de 0 a 1000 / must be a number from 0 to 1000")
    return score.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def _language(value: str) -> str:
    match = _LANGUAGE.match(value.strip().lower())
    if not match:
        raise _CellError("debe ser 'es' o 'en' / must be 'es' or 'en'")
    return match.group(1)


def _state(value: str) -> str:
    code = value.strip().upper().replace("_", "-")
    code = RENAMED_SUBDIVISIONS.get(code, code)
    if not _SUBDIVISION.match(code):
        raise _CellError(
            "no es una subdivisión ISO 3166-2 (MX-CMX, US-TX) / not an ISO 3166-2 subdivision (MX-CMX, US-TX)"
        )
    known = SUBDIVISIONS.get(code[:2])
    if known is not None and code not in known:
        raise _CellError(f"{code} no existe en {code[:2]} / {code} does not exist in {code[:2]}")
    return code


def _currency(value: str) -> str:
    code = value.strip().upper()
    if code not in CURRENCIES:
        raise _CellError("no es un código de moneda ISO 4217 (MXN, USD…) / not an ISO 4217 currency code (MXN, USD…)")
    return code


def _extra(value: str) -> str:
    text = "".join(" " if has_control_chars(ch) else ch for ch in value) if _has_control_chars(value) else value
    text = unicodedata.normalize("NFC", text.strip())
    if len(text) > _MAX_EXTRA:
        raise _CellError(f"más de {_MAX_EXTRA} caracteres / more than {_MAX_EXTRA} characters")
    return text


def _shown(column: str, value: str) -> str:
    """The cell as a report may show it: identity numbers keep their last 4 characters only."""
    if column in _SECRET_COLUMNS and value:
        return "*" * max(0, len(value) - 4) + value[-4:]
    return value


def validate_record(
    record: Record, rules: RowRules, parse: PhoneParser = parse_phone
) -> AccountDraft | list[RowError]:
    """Check one record; the draft when every cell is acceptable, else every problem found."""
    return _RowCheck(record, rules, parse).run()


class _RowCheck:
    """Collects the errors of one row while converting its cells."""

    def __init__(self, record: Record, rules: RowRules, parse: PhoneParser) -> None:
        self.record = record
        self.rules = rules
        self.parse = parse
        self.errors: list[RowError] = []

    def cell(self, column: str) -> str:
        return self.record.cells.get(column, "")

    def fail(self, column: str, value: str, reason: str) -> None:
        rec = self.record
        if rec.end_line > rec.line:
            reason += f" (fila en las líneas {rec.line}–{rec.end_line} / row on lines {rec.line}-{rec.end_line})"
        self.errors.append(RowError(rec.line, column, _shown(column, value), reason))

    def get(self, column: str, convert: Callable[[str], T], *, required: bool = False) -> T | None:
        value = self.cell(column)
        try:
            if required:
                _required(value)
            elif not value.strip():
                return None
            return convert(value)
        except _CellError as exc:
            self.fail(column, value, exc.reason)
            return None

    def text(self, column: str, *, required: bool = False) -> str | None:
        return self.get(column, lambda v: _text(v, column), required=required)

    def run(self) -> AccountDraft | list[RowError]:
        rec, rules = self.record, self.rules
        if rec.problem is not None:
            self.fail(ROW_COLUMN, "", f"la fila no se pudo leer / the row could not be read: {rec.problem}")
            return self.errors
        if rec.overflow:
            self.fail(
                ROW_COLUMN,
                ",".join(rec.overflow),
                f"la fila tiene {len(rec.overflow)} celda(s) más que el encabezado (¿una coma sin comillas, "
                f"p. ej. 1,234.50?) / the row has {len(rec.overflow)} more cell(s) than the header "
                "(an unquoted comma, e.g. 1,234.50?)",
            )
        external_ref = self.text("external_ref", required=True)
        debtor_name = self.text("debtor_name", required=True)
        national_id = self.text("national_id")
        segment = self.text("segment")
        balance = self.get("balance", _amount, required=True)
        due = self.get("due_date", _due_date, required=True)
        dpd = self.get("days_past_due", _days_past_due)
        risk = self.get("risk_score", _risk_score)
        state = self.get("state", _state)
        country = state[:2] if state else rules.region
        currency = self.get("currency", _currency)
        if currency is None and not self.cell("currency").strip():
            currency = DEFAULT_CURRENCY.get(country)
            if currency is None:
                self.fail("currency", "", f"vacío y sin moneda por omisión para {country} / "
                          f"empty and {country} has no default currency")
        language = self.get("language", _language) or ("en" if country == "US" else "es")
        phones = self.phones(country)
        extra = self.extras()
        if self.errors:
            return self.errors
        assert external_ref and debtor_name and balance is not None and due is not None and currency
        account = Account(
            external_ref=external_ref,
            debtor_name=debtor_name,
            balance=balance,
            currency=currency,
            due_date=due,
            days_past_due=dpd if dpd is not None else days_past_due(due, rules.today),
            phones=tuple(p for p, _ in phones),
            national_id=national_id,
            segment=segment,
            risk_score=risk,
            language=language,
            state=state,
            region=country,
            extra=extra,
        )
        unverified = sum(1 for _, valid in phones if not valid)
        return AccountDraft(rec.line, account, days_past_due_given=dpd is not None, unverified_phones=unverified)

    def phones(self, country: str) -> list[tuple[Phone, bool]]:
        found: list[tuple[Phone, bool]] = []
        for position, column in enumerate(PHONE_COLUMNS, start=1):
            value = self.cell(column)
            if not value.strip():
                if position == 1:
                    self.fail(column, value, "vacío; la columna es obligatoria / empty; the column is required")
                continue
            try:
                parsed = self.parse(value, country)
            except ValidationError as exc:
                self.fail(column, value, f"número inválido en {country} / invalid number in {country}: {exc.message}")
                continue
            if any(p.e164 == parsed.e164 for p, _ in found):
                continue  # the same number twice on one account: dialed once
            phone = Phone(e164=parsed.e164, type=parsed.type, position=position, time_zones=parsed.time_zones)
            found.append((phone, parsed.valid))
        return found

    def extras(self) -> dict[str, str]:
        extra: dict[str, str] = {}
        for column, value in self.record.cells.items():
            if column in KNOWN_COLUMNS:
                continue
            try:
                text = _extra(value)
            except _CellError as exc:
                self.fail(column, value, exc.reason)
                continue
            if text:
                extra[column] = text
        return extra


class RowValidator:
    """Validates the records of one file in order; a repeated ``external_ref`` keeps the first.

    A reference counts as seen on its first line even when that row is rejected for another
    reason, so a later row never silently replaces the one the creditor has to fix.
    """

    def __init__(self, rules: RowRules) -> None:
        self.rules = rules
        self._first_line: dict[str, int] = {}
        self._phones: dict[tuple[str, str], ParsedPhone | str] = {}  # the parse, or why it failed

    def _parse_phone(self, raw: str, country: str) -> ParsedPhone:
        """``parse_phone`` remembered: a debtor with several accounts repeats the same numbers."""
        key = (raw.strip(), country)
        known = self._phones.get(key)
        if known is None:
            try:
                known = parse_phone(raw, country)
            except ValidationError as exc:
                known = exc.message
            if len(self._phones) < _PHONE_MEMO_LIMIT:
                self._phones[key] = known
        if isinstance(known, str):
            raise ValidationError(known, value=raw)
        return known

    def check(self, record: Record) -> AccountDraft | list[RowError]:
        result = validate_record(record, self.rules, self._parse_phone)
        raw_ref = record.cells.get("external_ref", "")
        ref = unicodedata.normalize("NFC", raw_ref.strip())
        if not ref:
            return result
        first = self._first_line.setdefault(ref, record.line)
        if first == record.line:
            return result
        duplicate = RowError(
            record.line,
            "external_ref",
            raw_ref,
            f"external_ref repetido: ya está en la línea {first}, que se conserva / "
            f"repeated external_ref: already on line {first}, which is kept",
        )
        return [duplicate, *result] if isinstance(result, list) else [duplicate]

