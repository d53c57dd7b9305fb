"""Encoding, delimiter and header detection of accounts lists (recobro.importing.csv_reader)."""

from __future__ import annotations

import pytest

from recobro.importing.csv_reader import decode, detect_delimiter, normalize_column, read_csv
from recobro.importing.errors import FileRefused

HEADER = "external_ref,debtor_name,phone1,balance,due_date"
ROW = "A-1,José Peña,5512345678,100.00,2026-01-31"


def refused(data: bytes) -> FileRefused:
    with pytest.raises(FileRefused) as info:
        read_csv(data)
    return info.value


def test_utf8_without_bom() -> None:
    table = read_csv(f"{HEADER}\n{ROW}\n".encode())
    assert table.encoding == "utf-8"
    (record,) = table.records()
    assert record.cells["debtor_name"] == "José Peña"


def test_utf8_with_bom_does_not_spoil_the_first_column() -> None:
    table = read_csv(b"\xef\xbb\xbf" + f"{HEADER}\r\n{ROW}\r\n".encode())
    assert table.encoding == "utf-8-sig"
    assert table.columns[0] == "external_ref"
    (record,) = table.records()
    assert record.cells["external_ref"] == "A-1"


def test_cp1252_is_detected_and_read() -> None:
    data = f"{HEADER}\nA-1,Peña Muñoz “Toño”,5512345678,100.00,2026-01-31\n".encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    table = read_csv(data)
    assert table.encoding == "cp1252"
    (record,) = table.records()
    assert record.cells["debtor_name"] == "Peña Muñoz “Toño”"


def test_latin1_when_cp1252_cannot_decode() -> None:
    # 0x81 is undefined in cp1252 but a (control) character in latin-1
    data = f"{HEADER}\nA-1,Peña,5512345678,100.00,2026-01-31\n".encode("latin-1").replace(b"Pe", b"P\x81e")
    decoded = decode(data)
    assert decoded.encoding == "latin-1"
    assert "Pe\u0081" not in decoded.text and "P\u0081eña" in decoded.text


def test_broken_utf8_after_a_bom_is_refused() -> None:
    err = refused(b"\xef\xbb\xbf" + HEADER.encode() + b"\nA-1,Pe\xf1a,1,1,2026-01-01\n")
    assert err.code == "encoding"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"  \r\n\n", "empty"),
        (b"PK\x03\x04\x14\x00\x06\x00", "xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
        ("external_ref,debtor_name".encode("utf-16"), "utf16"),
        (b"external_ref,debtor\x00_name\n", "binary"),
        (bytes(range(1, 32)) * 40, "binary"),
    ],
)
def test_unreadable_files_refused(data: bytes, code: str) -> None:
    err = refused(data)
    assert err.code == code
    assert " / " in err.message  # Spanish / English


@pytest.mark.parametrize(
    ("line", "delimiter"),
    [
        (HEADER, ","),
        (HEADER.replace(",", ";"), ";"),
        (HEADER.replace(",", "\t"), "\t"),
        ('"a;b",c,d', ","),
        ('"a,b";c;d', ";"),
        ("single", ","),
    ],
)
def test_delimiter_detection(line: str, delimiter: str) -> None:
    assert detect_delimiter(line) == delimiter


def test_semicolon_file_with_decimal_commas_in_text() -> None:
    data = "external_ref;debtor_name;phone1;balance;due_date\nA-1;Ruiz, Ana;5512345678;1,234.50;2026-01-31\n"
    table = read_csv(data.encode())
    assert table.delimiter == ";"
    (record,) = table.records()
    assert record.cells["debtor_name"] == "Ruiz, Ana"
    assert record.cells["balance"] == "1,234.50"


def test_excel_sep_hint_line() -> None:
    table = read_csv(b"sep=;\nexternal_ref;debtor_name;phone1;balance;due_date\nA-1;Ana;1;2;2026-01-01\n")
    assert table.delimiter == ";"
    assert table.header_line == 2
    (record,) = table.records()
    assert record.line == 3


@pytest.mark.parametrize(
    ("raw", "name"), [(" External_Ref ", "external_ref"), ("PHONE1", "phone1"), ("Debtor Name", "debtor_name")]
)
def test_column_names_normalized(raw: str, name: str) -> None:
    assert normalize_column(raw) == name


def test_header_case_spaces_order_and_unknown_columns() -> None:
    data = " Due_Date ,BALANCE, Phone1,Producto,DEBTOR_NAME,External_Ref\n2026-01-31,10,5512345678,TDC,Ana,A-1\n"
    table = read_csv(data.encode())
    assert table.extra_columns == ("producto",)
    (record,) = table.records()
    assert record.cells["external_ref"] == "A-1"
    assert record.cells["producto"] == "TDC"


def test_missing_required_column_named() -> None:
    err = refused(b"external_ref,debtor_name,phone1,due_date\nA-1,Ana,1,2026-01-01\n")
    assert err.code == "missing_columns"
    assert "Falta la columna requerida 'balance'" in err.message
    assert "Missing required column 'balance'" in err.message


def test_several_missing_columns_all_named() -> None:
    err = refused(b"cuenta,nombre,telefono,saldo,vencimiento\n1,2,3,4,5\n")
    for column in ("external_ref", "debtor_name", "phone1", "balance", "due_date"):
        assert f"'{column}'" in err.message
    assert "Faltan las columnas" in err.message and "Missing required columns" in err.message


def test_repeated_column_refused() -> None:
    err = refused(f"{HEADER},Phone1\n".encode())
    assert err.code == "repeated_columns" and "'phone1'" in err.message


def test_header_only_yields_no_records() -> None:
    assert list(read_csv(f"{HEADER}\n".encode()).records()) == []


def test_physical_line_numbers_skip_blank_lines_and_follow_quoted_breaks() -> None:
    data = f'\n{HEADER}\nA-1,Ana,1,1,2026-01-01\n\n,,,,\nA-2,"Ana\nRuiz",1,1,2026-01-01\nA-3,Eva,1,1,2026-01-01\n'
    table = read_csv(data.encode())
    assert table.header_line == 2
    records = list(table.records())
    assert [(r.line, r.end_line, r.cells["external_ref"]) for r in records] == [
        (3, 3, "A-1"),
        (6, 7, "A-2"),
        (8, 8, "A-3"),
    ]


def test_crlf_and_cr_line_endings() -> None:
    for newline in ("\r\n", "\r"):
        data = newline.join([HEADER, "A-1,Ana,1,1,2026-01-01", "A-2,Eva,1,1,2026-01-01", ""])
        assert [r.line for r in read_csv(data.encode()).records()] == [2, 3]


def test_short_rows_padded_and_long_rows_flagged() -> None:
    data = f"{HEADER}\nA-1,Ana\nA-2,Eva,5512345678,1,234.50,2026-01-01\nA-3,Flor,1,1,2026-01-01,,\n"
    short, long_, trailing = read_csv(data.encode()).records()
    assert short.cells["balance"] == "" and short.overflow == ()
    assert long_.overflow == ("2026-01-01",)
    assert trailing.overflow == ()


def test_unclosed_quote_is_a_row_problem_not_a_swallowed_file() -> None:
    data = f'{HEADER}\nA-1,Ana,1,1,2026-01-01\nA-2,"Eva,1,1,2026-01-01\nA-3,Flor,1,1,2026-01-01\n'
    first, broken = read_csv(data.encode()).records()
    assert first.problem is None
    assert (broken.line, broken.end_line) == (3, 4)
    assert broken.problem is not None and "unclosed quote" in broken.problem


def test_text_after_closing_quote_rejects_that_row_only() -> None:
    data = f'{HEADER}\nA-1,"Ana" Ruiz,1,1,2026-01-01\nA-2,Juan "El" Pérez,1,1,2026-01-01\n'
    broken, fine = read_csv(data.encode()).records()
    assert broken.line == 2 and broken.problem is not None and "closing quote" in broken.problem
    assert fine.line == 3 and fine.cells["debtor_name"] == 'Juan "El" Pérez'


def test_oversized_cell_rejects_that_row_only() -> None:
    data = f'{HEADER}\nA-1,"{"x" * 200_000}",1,1,2026-01-01\nA-2,Eva,1,1,2026-01-01\n'
    broken, fine = read_csv(data.encode()).records()
    assert broken.problem is not None and "too long" in broken.problem
    assert (fine.line, fine.cells["external_ref"]) == (3, "A-2")
