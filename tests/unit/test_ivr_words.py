"""Amounts, dates and times said the way a person says them, Spanish and English."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ivr.prompts.catalog import TEXTS, fixed_prompts, is_fixed, prompt
from ivr.prompts.words import amount_words, cardinal, date_words, digits_words, minutes_words, time_words


@pytest.mark.parametrize(
    ("amount", "es", "en"),
    [
        ("0.50", "cincuenta centavos", "fifty cents"),
        ("1", "un peso", "one dollar"),
        ("21", "veintiún pesos", "twenty-one dollars"),
        ("100", "cien pesos", "one hundred dollars"),
        (
            "1234.50",
            "mil doscientos treinta y cuatro pesos con cincuenta centavos",
            "one thousand two hundred thirty-four dollars and fifty cents",
        ),
        ("1000000", "un millón de pesos", "one million dollars"),
        ("2000000.01", "dos millones de pesos con un centavo", "two million dollars and one cent"),
        ("21000", "veintiún mil pesos", "twenty-one thousand dollars"),
        ("31.01", "treinta y un pesos con un centavo", "thirty-one dollars and one cent"),
        ("1500000", "un millón quinientos mil pesos", "one million five hundred thousand dollars"),
        ("101", "ciento un pesos", "one hundred one dollars"),
    ],
)
def test_amounts(amount: str, es: str, en: str) -> None:
    assert amount_words(Decimal(amount), "MXN", "es") == es
    assert amount_words(Decimal(amount), "USD", "en") == en


def test_currency_names_follow_language_and_currency() -> None:
    assert amount_words(Decimal("2.50"), "USD", "es") == "dos dólares con cincuenta centavos"
    assert amount_words(Decimal("2.50"), "MXN", "en") == "two pesos and fifty centavos"
    assert amount_words(Decimal("1"), "COP", "es") == "un peso"
    with pytest.raises(ValueError, match="currency"):
        amount_words(Decimal("1"), "XYZ", "es")
    with pytest.raises(ValueError, match="language"):
        amount_words(Decimal("1"), "MXN", "fr")


def test_cardinal_apocope_only_before_a_noun() -> None:
    assert cardinal(21, "es") == "veintiuno"
    assert cardinal(21, "es", before_noun=True) == "veintiún"
    assert cardinal(1, "es", before_noun=True) == "un"
    assert cardinal(21_000_000, "es") == "veintiún millones"


@pytest.mark.parametrize(
    ("day", "es", "en"),
    [
        (date(2026, 11, 5), "el cinco de noviembre", "November fifth"),
        (date(2026, 12, 1), "el primero de diciembre", "December first"),
        (date(2026, 3, 21), "el veintiuno de marzo", "March twenty-first"),
    ],
)
def test_dates(day: date, es: str, en: str) -> None:
    assert date_words(day, "es", today=date(2026, 1, 1)) == es
    assert date_words(day, "en", today=date(2026, 1, 1)) == en


def test_year_said_only_when_not_this_year() -> None:
    assert date_words(date(2027, 1, 5), "es", today=date(2026, 12, 20)) == "el cinco de enero de dos mil veintisiete"
    assert date_words(date(2027, 1, 5), "en", today=date(2026, 12, 20)) == "January fifth, two thousand twenty-seven"


def test_minutes_times_digits() -> None:
    assert minutes_words(30, "es") == "un minuto"
    assert minutes_words(61, "es") == "dos minutos"
    assert minutes_words(600, "en") == "ten minutes"
    assert time_words(9, 0, "es") == "las nueve"
    assert time_words(1, 30, "es") == "la una treinta"
    assert time_words(13, 5, "en") == "one oh five p.m."
    assert time_words(9, 0, "en") == "nine a.m."
    assert digits_words("+52 55", "es") == "cinco, dos, cinco, cinco"


def test_every_prompt_exists_in_both_languages_with_the_same_placeholders() -> None:
    import string

    for key, by_lang in TEXTS.items():
        assert set(by_lang) == {"es", "en"}, key
        fields = [{f for _, f, _, _ in string.Formatter().parse(t) if f} for t in by_lang.values()]
        assert fields[0] == fields[1], key


def test_prompt_fills_and_refuses_missing_words() -> None:
    p = prompt("balance", "es", amount="un peso", due="el cinco de noviembre")
    assert p.text == "Su saldo vencido es de un peso, que venció el cinco de noviembre."
    assert not p.fixed
    with pytest.raises(KeyError):
        prompt("balance", "es", amount="un peso")
    assert prompt("menu", "fr").language == "es"  # unknown languages fall back to Spanish
    assert is_fixed("menu") and not is_fixed("voicemail")
    assert {p.key for p in fixed_prompts()} >= {"menu", "goodbye", "ask_pin"}
