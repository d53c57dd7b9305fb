"""Bytes of an accounts list -> text, delimiter, header and records with their physical lines.

Files come from creditors' spreadsheets, so they arrive in UTF-8 (with or without Excel's BOM)
or in Windows' cp1252 / latin-1, delimited by ``,`` or ``;`` (Excel in Spanish locales saves
``;``). Anything that is not text is refused here, before a single row is looked at, with a
message that says why; a file that is text but lacks a required column is refused too, so that
nothing is ever half-imported from a file that was not the expected kind.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from recobro.importing.errors import FileRefused

REQUIRED_COLUMNS: tuple[str, ...] = ("external_ref", "debtor_name", "phone1", "balance", "due_date")
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "national_id",
    "phone2",
    "phone3",
    "currency",
    "days_past_due",
    "segment",
    "risk_score",
    "language",
    "state",
)
KNOWN_COLUMNS: frozenset[str] = frozenset(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)

_DELIMITERS = (",", ";", "\t")
_MAX_CONTROL_SHARE = 0.01  # more control characters than this and the file is not text
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (
        b"PK\x03\x04",
        "xlsx",
        "El archivo parece un libro de Excel (.xlsx), no un CSV; guárdelo como «CSV UTF-8» / "
        "The file looks like an Excel workbook (.xlsx), not a CSV; save it as 'CSV UTF-8'",
    ),
    (
        b"\xd0\xcf\x11\xe0",
        "xls",
        "El archivo parece un libro de Excel antiguo (.xls), no un CSV; guárdelo como «CSV UTF-8» / "
        "The file looks like an old Excel workbook (.xls), not a CSV; save it as 'CSV UTF-8'",
    ),
    (
        b"\xff\xfe",
        "utf16",
        "El archivo está en UTF-16; guárdelo como «CSV UTF-8» / "
        "The file is in UTF-16; save it as 'CSV UTF-8'",
    ),
    (
        b"\xfe\xff",
        "utf16",
        "El archivo está en UTF-16; guárdelo como «CSV UTF-8» / "
        "The file is in UTF-16; save it as 'CSV UTF-8'",
    ),
)


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str  # "utf-8", "utf-8-sig" (with BOM), "cp1252" or "latin-1"


@dataclass(frozen=True, slots=True)
class Record:
    """One data row as the file holds it.

    ``line`` is the physical line the row starts on (the header is line 1 unless blank lines
    precede it); ``end_line`` is larger when a quoted cell holds a line break. ``overflow``
    holds the cells beyond the header's width (an unquoted ``1,234.50`` in a comma file).
    """

    line: int
    end_line: int
    cells: dict[str, str]
    overflow: tuple[str, ...] = ()
    problem: str | None = None  # the csv module could not split the row


def decode(data: bytes) -> Decoded:
    """Decode as UTF-8 (BOM or not), else cp1252, else latin-1; refuse what is not text."""
    if not data.strip():
        raise FileRefused("empty", "El archivo está vacío / The file is empty")
    for signature, code, message in _SIGNATURES:
        if data.startswith(signature):
            raise FileRefused(code, message)
    if b"\x00" in data:
        raise FileRefused(
            "binary",
            "El archivo no es texto (contiene bytes NUL); envíe un CSV / "
            "The file is not text (it holds NUL bytes); send a CSV",
        )
    decoded = _decode_text(data)
    controls = sum(1 for ch in decoded.text if ch not in "\t\r\n" and unicodedata.category(ch) == "Cc")
    if controls > max(2, _MAX_CONTROL_SHARE * len(decoded.text)):
        raise FileRefused(
            "binary",
            "El archivo no parece texto (demasiados caracteres de control); envíe un CSV / "
            "The file does not look like text (too many control characters); send a CSV",
        )
    return decoded


def _decode_text(data: bytes) -> Decoded:
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return Decoded(data[3:].decode("utf-8"), "utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FileRefused(
                "encoding",
                "El archivo declara UTF-8 (BOM) pero tiene bytes que no son UTF-8 / "
                f"The file declares UTF-8 (BOM) but holds bytes that are not UTF-8 (byte {exc.start + 3})",
            ) from exc
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return Decoded(data.decode("cp1252"), "cp1252")
    except UnicodeDecodeError:
        return Decoded(data.decode("latin-1"), "latin-1")


def normalize_column(name: str) -> str:
    """Header cell -> column key: case and surrounding spaces ignored, inner spaces as ``_``."""
    return re.sub(r"[\s\-]+", "_", name.replace("\ufeff", "").strip().lower())


def detect_delimiter(header_line: str) -> str:
    """The delimiter that splits the header line most (outside quotes); ``,`` on a tie."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


class CsvTable:
    """A decoded CSV with its header checked; ``records()`` yields the data rows once."""

    def __init__(self, decoded: Decoded) -> None:
        self.encoding = decoded.encoding
        self._text = decoded.text
        self.total_lines = decoded.text.count("\n") + (0 if decoded.text.endswith("\n") else 1)
        lines = io.StringIO(decoded.text, newline="")
        first_line = ""
        skipped = 0
        for raw in lines:
            if raw.strip():
                first_line = raw
                break
            skipped += 1
        if not first_line:
            raise FileRefused("empty", "El archivo está vacío / The file is empty")
        self.delimiter = detect_delimiter(first_line)
        hint = re.fullmatch(r"sep=(.)\s*", first_line.strip("\r\n"), flags=re.IGNORECASE)
        if hint:  # Excel's "sep=;" first line names the delimiter
            self.delimiter = hint.group(1)
            skipped += 1
        lines.seek(0)
        # strict: an unclosed quote is an error at the end of the file instead of a cell that
        # silently swallowed every row after it; text after a closing quote is an error too.
        self._reader = csv.reader(lines, delimiter=self.delimiter, strict=True)
        header: list[str] = []
        while not any(c.strip() for c in header):
            try:
                header = next(self._reader)
            except StopIteration:
                raise FileRefused("empty", "El archivo está vacío / The file is empty") from None
            if hint and self._reader.line_num == skipped:
                header = []
        self.header_line = self._reader.line_num
        self.columns = tuple(normalize_column(c) for c in header)
        self._check_header(header)

    def _check_header(self, raw: list[str]) -> None:
        seen: set[str] = set()
        repeated: set[str] = set()
        for column in self.columns:
            if column in seen:
                repeated.add(column)
            elif column:
                seen.add(column)
        if repeated:
            names = ", ".join(f"'{c}'" for c in sorted(repeated))
            raise FileRefused(
                "repeated_columns",
                f"Columnas repetidas en el encabezado: {names} / Columns repeated in the header: {names}",
            )
        missing = [c for c in REQUIRED_COLUMNS if c not in seen]
        if missing:
            names = ", ".join(f"'{c}'" for c in missing)
            found = ", ".join(f"'{c.strip()}'" for c in raw if c.strip()) or "-"
            if len(missing) == 1:
                msg = f"Falta la columna requerida {names} / Missing required column {names}"
            else:
                msg = f"Faltan las columnas requeridas {names} / Missing required columns {names}"
            raise FileRefused(
                "missing_columns",
                f"{msg} (encabezado en la línea {self.header_line}: {found} / "
                f"header on line {self.header_line}: {found})",
            )

    @property
    def extra_columns(self) -> tuple[str, ...]:
        """Header columns that are not part of the contract: kept as the account's extra data."""
        return tuple(c for c in self.columns if c and c not in KNOWN_COLUMNS)

    def records(self) -> Iterator[Record]:
        """The data rows after the header; blank lines and rows of empty cells are skipped."""
        width = len(self.columns)
        previous_end = self.header_line
        while True:
            try:
                values = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                line = previous_end + 1
                previous_end = self._reader.line_num
                yield Record(line, previous_end, {}, problem=_explain(str(exc)))
                continue
            line, previous_end = previous_end + 1, self._reader.line_num
            if not any(v.strip() for v in values):
                continue
            cells = {col: values[i] if i < len(values) else "" for i, col in enumerate(self.columns) if col}
            overflow = tuple(values[width:]) if len(values) > width and any(v.strip() for v in values[width:]) else ()
            yield Record(line, previous_end, cells, overflow)


def _explain(error: str) -> str:
    """The csv module's complaint about a row, in words a creditor can act on."""
    if "unexpected end of data" in error:
        return (
            "comilla sin cerrar: el resto del archivo quedó dentro de una celda / "
            "unclosed quote: the rest of the file fell inside one cell"
        )
    if "expected after" in error:
        return "texto después de una comilla de cierre / text after a closing quote"
    if "field larger than field limit" in error:
        return f"celda demasiado larga / cell too long ({error})"
    return error


def read_csv(data: bytes) -> CsvTable:
    """Decode and open a CSV, checking its header; raises FileRefused when it cannot be read."""
    return CsvTable(decode(data))
