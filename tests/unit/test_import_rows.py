"""Every rule of the accounts-list row validation (recobro.importing.rows)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from recobro.domain.accounts import PhoneType
from recobro.importing.csv_reader import Record
from recobro.importing.fingerprint import content_hash
from recobro.importing.rows import AccountDraft, RowError, RowRules, RowValidator, validate_record

TODAY = date(2026, 3, 15)
MX = RowRules(region="MX", today=TODAY)

GOOD = {
    "external_ref": "A-1",
    "debtor_name": "José Peña",
    "phone1": "+52 55 1234 5678",
    "balance": "1234.50",
    "due_date": "2026-02-13",
}


def rec(line: int = 2, end_line: int | None = None, **cells: str) -> Record:
    return Record(line=line, end_line=end_line or line, cells={**GOOD, **cells})


def ok(result: AccountDraft | list[RowError]) -> AccountDraft:
    assert isinstance(result, AccountDraft), result
    return result


def bad(result: AccountDraft | list[RowError]) -> list[RowError]:
    assert isinstance(result, list), result
    return result


def only_error(result: AccountDraft | list[RowError], column: str) -> RowError:
    errors = bad(result)
    assert [e.column for e in errors] == [column], errors
    return errors[0]


def test_minimal_row_gets_region_defaults() -> None:
    draft = ok(validate_record(rec(), MX))
    acc = draft.account
    assert draft.line == 2
    assert acc.external_ref == "A-1"
    assert acc.debtor_name == "José Peña"
    assert acc.balance == Decimal("1234.50")
    assert acc.currency == "MXN"
    assert acc.language == "es"
    assert acc.region == "MX"
    assert acc.due_date == date(2026, 2, 13)
    assert acc.days_past_due == 30
    assert not draft.days_past_due_given
    assert acc.extra == {}
    (phone,) = acc.phones
    assert phone.e164 == "+525512345678"
    assert phone.type is PhoneType.MOBILE
    assert phone.position == 1
    assert phone.time_zones == ("America/Mexico_City",)


@pytest.mark.parametrize("column", ["external_ref", "debtor_name", "phone1", "balance", "due_date"])
def test_required_cells_cannot_be_empty(column: str) -> None:
    err = only_error(validate_record(rec(**{column: "  "}), MX), column)
    assert "obligatoria" in err.reason and "required" in err.reason
    assert err.line == 2


def test_missing_optional_cells_are_fine() -> None:
    cells = dict(GOOD)
    draft = ok(validate_record(Record(5, 5, cells), MX))
    assert draft.account.segment is None and draft.account.risk_score is None and draft.account.state is None


# --- phones -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+52 55 1234 5678", "+525512345678"),
        ("5512345678", "+525512345678"),
        ("(55) 1234-5678", "+525512345678"),
        ("+52 1 55 1234 5678", "+525512345678"),  # retired mobile prefix
        ("044 55 1234 5678", "+525512345678"),
        ("+1 (602) 555-0147", "+16025550147"),
    ],
)
def test_phone_notations(raw: str, e164: str) -> None:
    assert ok(validate_record(rec(phone1=raw), MX)).account.phones[0].e164 == e164


def test_phone_without_country_code_is_read_in_the_state_country() -> None:
    acc = ok(validate_record(rec(phone1="(602) 555-0147", state="US-AZ"), MX)).account
    assert acc.phones[0].e164 == "+16025550147"
    assert acc.phones[0].time_zones == ("America/Phoenix",)
    assert acc.region == "US"
    assert acc.currency == "USD"
    assert acc.language == "en"


def test_phone_without_country_code_is_read_in_the_region_when_no_state() -> None:
    us = RowRules(region="US", today=TODAY)
    acc = ok(validate_record(rec(phone1="(212) 555-0123"), us)).account
    assert acc.phones[0].e164 == "+12125550123"
    assert acc.currency == "USD" and acc.language == "en"


def test_phone_possible_but_unassigned_is_kept_and_counted() -> None:
    draft = ok(validate_record(rec(phone1="(555) 123-4567", state="US-TX"), MX))
    assert draft.account.phones[0].e164 == "+15551234567"
    assert draft.account.phones[0].type is PhoneType.UNKNOWN
    assert draft.unverified_phones == 1


@pytest.mark.parametrize("raw", ["12345", "55-CALL-ME", "=1+2", "+52 55 1234 5678 999"])
def test_bad_phone_rejected(raw: str) -> None:
    err = only_error(validate_record(rec(phone1=raw), MX), "phone1")
    assert err.value == raw
    assert "inválido" in err.reason and "invalid" in err.reason


def test_bad_optional_phone_rejects_the_row() -> None:
    err = only_error(validate_record(rec(phone3="123"), MX), "phone3")
    assert err.value == "123"


def test_three_phones_positions_and_duplicates() -> None:
    acc = ok(validate_record(rec(phone2="", phone3="33 1234 5678"), MX)).account
    assert [(p.position, p.e164) for p in acc.phones] == [(1, "+525512345678"), (3, "+523312345678")]
    acc = ok(validate_record(rec(phone2="55 1234 5678"), MX)).account
    assert [p.e164 for p in acc.phones] == ["+525512345678"]  # the same number once


# --- balance, currency ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1234.50", "1234.50"), ("1,234.50", "1234.50"), ("1,234,567", "1234567"), ("0", "0"), (" 7.5 ", "7.50"),
     ("12.300", "12.30")],
)
def test_balance_formats(raw: str, value: str) -> None:
    assert ok(validate_record(rec(balance=raw), MX)).account.balance == Decimal(value)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("-10.00", "negativo"),
        ("-1,234.50", "negativo"),
        ("1.234,50", "decimal"),
        ("1234,50", "decimal"),
        ("12,34.5", "decimal"),
        ("abc", "decimal"),
        ("NaN", "decimal"),
        ("1e5", "decimal"),
        ("$100", "decimal"),
        ("10.505", "decimales"),
        ("1000000000000", "grande"),
    ],
)
def test_balance_rejected(raw: str, words: str) -> None:
    err = only_error(validate_record(rec(balance=raw), MX), "balance")
    assert words in err.reason
    assert err.value == raw


@pytest.mark.parametrize(("region", "currency"), [("MX", "MXN"), ("US", "USD"), ("CO", "COP")])
def test_currency_default_from_region(region: str, currency: str) -> None:
    rules = RowRules(region=region, today=TODAY)
    assert ok(validate_record(rec(phone1="+52 55 1234 5678"), rules)).account.currency == currency


def test_currency_given_is_upper_cased_and_checked() -> None:
    assert ok(validate_record(rec(currency="usd"), MX)).account.currency == "USD"
    for raw in ("US", "DOLLAR", "ABC", "XTS"):
        assert only_error(validate_record(rec(currency=raw), MX), "currency").value == raw


def test_region_without_default_currency_requires_the_column() -> None:
    rules = RowRules(region="JP", today=TODAY)
    only_error(validate_record(rec(phone1="+52 55 1234 5678"), rules), "currency")
    assert ok(validate_record(rec(phone1="+52 55 1234 5678", currency="JPY"), rules)).account.currency == "JPY"


# --- dates and numbers ------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["2026-02-30", "13/02/2026", "2026-2-13", "20260213", "1850-01-01", "mañana"])
def test_due_date_rejected(raw: str) -> None:
    err = only_error(validate_record(rec(due_date=raw), MX), "due_date")
    assert err.value == raw


def test_days_past_due_given_or_computed() -> None:
    draft = ok(validate_record(rec(days_past_due="45"), MX))
    assert draft.account.days_past_due == 45 and draft.days_past_due_given
    future = ok(validate_record(rec(due_date="2026-04-01"), MX))
    assert future.account.days_past_due == 0
    later = ok(validate_record(rec(), RowRules(region="MX", today=date(2026, 3, 20))))
    assert later.account.days_past_due == 35


@pytest.mark.parametrize("raw", ["-1", "4.5", "diez", "99999999", "١٢"])
def test_days_past_due_rejected(raw: str) -> None:
    only_error(validate_record(rec(days_past_due=raw), MX), "days_past_due")


@pytest.mark.parametrize(("raw", "value"), [("0", "0"), ("1000", "1000"), ("712.5", "712.50"), ("3.14159", "3.14")])
def test_risk_score_accepted(raw: str, value: str) -> None:
    assert ok(validate_record(rec(risk_score=raw), MX)).account.risk_score == Decimal(value)


@pytest.mark.parametrize("raw", ["-1", "1000.01", "1001", "high", "1e3"])
def test_risk_score_rejected(raw: str) -> None:
    only_error(validate_record(rec(risk_score=raw), MX), "risk_score")


# --- language, state --------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "value"), [("es", "es"), ("EN", "en"), ("es-MX", "es"), ("en_US", "en")])
def test_language_accepted(raw: str, value: str) -> None:
    assert ok(validate_record(rec(language=raw), MX)).account.language == value


@pytest.mark.parametrize("raw", ["fr", "español", "e"])
def test_language_rejected(raw: str) -> None:
    only_error(validate_record(rec(language=raw), MX), "language")


def test_language_default_by_country() -> None:
    assert ok(validate_record(rec(), MX)).account.language == "es"
    assert ok(validate_record(rec(state="US-CA", phone1="(415) 555-0199"), MX)).account.language == "en"
    assert ok(validate_record(rec(state="US-TX", phone1="(713) 555-0100", language="es"), MX)).account.language == "es"


@pytest.mark.parametrize(
    ("raw", "value"), [("MX-CMX", "MX-CMX"), ("mx-jal", "MX-JAL"), (" US-TX ", "US-TX"), ("MX-DIF", "MX-CMX")]
)
def test_state_accepted(raw: str, value: str) -> None:
    assert ok(validate_record(rec(state=raw), MX)).account.state == value


@pytest.mark.parametrize("raw", ["Jalisco", "TX", "MX-XXX", "US-ZZ", "MX_", "MEX-JAL"])
def test_state_rejected(raw: str) -> None:
    only_error(validate_record(rec(state=raw), MX), "state")


def test_state_of_another_country_checked_by_shape_only() -> None:
    acc = ok(validate_record(rec(state="CO-DC", phone1="+57 301 234 5678"), MX)).account
    assert acc.state == "CO-DC" and acc.region == "CO" and acc.currency == "COP"


# --- text -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Ana\nLópez", "Ana\rLópez", "Ana\tLópez", "Ana\x00", "Ana\x1b[31m", "Ana\u200bLópez"])
def test_control_characters_in_name_rejected(name: str) -> None:
    err = only_error(validate_record(rec(debtor_name=name), MX), "debtor_name")
    assert "control" in err.reason


def test_name_length_bounds() -> None:
    assert ok(validate_record(rec(debtor_name="X" * 200), MX)).account.debtor_name == "X" * 200
    err = only_error(validate_record(rec(debtor_name="X" * 201), MX), "debtor_name")
    assert "200" in err.reason


def test_name_trimmed_and_nfc_normalized() -> None:
    decomposed = "  Jose\u0301 Pen\u0303a  "
    assert ok(validate_record(rec(debtor_name=decomposed), MX)).account.debtor_name == "José Peña"


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\",\"pay\")", "+1 cmd", "-Ana", "@SUM(A1)"])
def test_formula_looking_text_is_stored_as_is(name: str) -> None:
    assert ok(validate_record(rec(debtor_name=name), MX)).account.debtor_name == name


def test_external_ref_rules() -> None:
    only_error(validate_record(rec(external_ref="R" * 101), MX), "external_ref")
    only_error(validate_record(rec(external_ref="A\n1"), MX), "external_ref")
    assert ok(validate_record(rec(external_ref=" A-9 "), MX)).account.external_ref == "A-9"


def test_national_id_stored_but_masked_in_errors() -> None:
    assert ok(validate_record(rec(national_id="PEJJ800101HDFRNN09"), MX)).account.national_id == "PEJJ800101HDFRNN09"
    err = only_error(validate_record(rec(national_id="PEJJ800101HDFRNN09\n"), MX), "national_id")
    assert "PEJJ800101" not in err.value
    assert err.value.endswith("N09\n")


def test_segment_rules() -> None:
    assert ok(validate_record(rec(segment=" temprana "), MX)).account.segment == "temprana"
    only_error(validate_record(rec(segment="s" * 101), MX), "segment")


def test_unknown_columns_kept_as_extra() -> None:
    acc = ok(validate_record(rec(producto="Tarjeta", notas="línea 1\nlínea 2", vacia=" "), MX)).account
    assert acc.extra == {"producto": "Tarjeta", "notas": "línea 1 línea 2"}
    only_error(validate_record(rec(notas="n" * 1001), MX), "notas")


# --- whole rows -------------------------------------------------------------------------------


def test_every_bad_cell_is_reported() -> None:
    errors = bad(validate_record(rec(line=7, balance="-1", due_date="ayer", phone1="1"), MX))
    assert sorted(e.column for e in errors) == ["balance", "due_date", "phone1"]
    assert {e.line for e in errors} == {7}


def test_extra_cells_beyond_header_reject_the_row() -> None:
    record = Record(4, 4, dict(GOOD), overflow=("50",))
    err = only_error(validate_record(record, MX), "*")
    assert err.value == "50" and "1,234.50" in err.reason


def test_unparseable_record_rejected() -> None:
    err = only_error(validate_record(Record(3, 3, {}, problem="field larger than field limit"), MX), "*")
    assert "field limit" in err.reason


def test_multiline_row_reports_its_line_range() -> None:
    err = only_error(validate_record(rec(line=3, end_line=5, debtor_name="Ana\nLópez\nRuiz"), MX), "debtor_name")
    assert err.line == 3 and "3-5" in err.reason


def test_duplicate_external_ref_keeps_the_first() -> None:
    validator = RowValidator(MX)
    first = ok(validator.check(rec(line=2)))
    ok(validator.check(rec(line=3, external_ref="A-2")))
    second = bad(validator.check(rec(line=4, external_ref=" A-1", debtor_name="Otro")))
    assert first.account.debtor_name == "José Peña"
    assert [(e.line, e.column) for e in second] == [(4, "external_ref")]
    assert "línea 2" in second[0].reason and "line 2" in second[0].reason


def test_duplicate_of_a_rejected_row_is_rejected_too() -> None:
    validator = RowValidator(MX)
    bad(validator.check(rec(line=2, balance="x")))
    errors = bad(validator.check(rec(line=3)))
    assert errors[0].column == "external_ref" and "2" in errors[0].reason


def test_validator_remembers_phones_without_changing_results() -> None:
    validator = RowValidator(MX)
    first = ok(validator.check(rec(line=2, external_ref="A-1")))
    second = ok(validator.check(rec(line=3, external_ref="A-2")))
    assert first.account.phones == second.account.phones
    us = ok(validator.check(rec(line=4, external_ref="A-3", phone1="5512345678", state="US-TX")))
    assert us.account.phones[0].e164 == "+15512345678"  # the same digits read in another country
    for line in (5, 6):
        err = only_error(validator.check(rec(line=line, external_ref=f"B-{line}", phone1="123")), "phone1")
        assert err.line == line and "digits" in err.reason


# --- content hash ----------------------------------------------------------------------------


def test_content_hash_changes_with_imported_fields_only() -> None:
    base = content_hash(ok(validate_record(rec(), MX)))
    assert base == content_hash(ok(validate_record(rec(debtor_name=" José Peña "), MX)))
    other_day = RowRules(region="MX", today=date(2026, 6, 1))
    assert base == content_hash(ok(validate_record(rec(), other_day)))  # computed days_past_due
    for change in ({"balance": "1234.51"}, {"phone2": "3312345678"}, {"extra": "x"}, {"days_past_due": "30"}):
        assert content_hash(ok(validate_record(rec(**change), MX))) != base, change
