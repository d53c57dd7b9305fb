"""Amounts, dates and counts in words, the way a person says them on the phone.

num2words gives the cardinals; the rest is the grammar it does not know: Spanish apocope before
a masculine noun ("veintiún pesos", "veintiún mil"), "de" after a round million ("un millón de
pesos"), no "con cero centavos", "primero" for the first of the month; and American English
without "and" or commas ("one thousand two hundred thirty-four dollars and fifty cents").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from num2words import num2words

LANGUAGES = ("es", "en")


@dataclass(frozen=True, slots=True)
class CurrencyNames:
    one: str
    many: str
    cent_one: str
    cent_many: str


CURRENCIES: dict[str, dict[str, CurrencyNames]] = {
    "es": {
        "MXN": CurrencyNames("peso", "pesos", "centavo", "centavos"),
        "COP": CurrencyNames("peso", "pesos", "centavo", "centavos"),
        "USD": CurrencyNames("dólar", "dólares", "centavo", "centavos"),
        "EUR": CurrencyNames("euro", "euros", "céntimo", "céntimos"),
    },
    "en": {
        "MXN": CurrencyNames("peso", "pesos", "centavo", "centavos"),
        "COP": CurrencyNames("peso", "pesos", "centavo", "centavos"),
        "USD": CurrencyNames("dollar", "dollars", "cent", "cents"),
        "EUR": CurrencyNames("euro", "euros", "cent", "cents"),
    },
}

MONTHS = {
    "es": (
        "enero", "febrero", "marzo", "abril", "mayo", "junio",
        "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip

_ES_BEFORE_BIG = re.compile(r"\b(veinti)?uno(?= (mil|millón|millones|billón|billones)\b)")


def _language(language: str) -> str:
    lang = language.lower()[:2]
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported IVR language {language!r}; expected one of {LANGUAGES}")
    return lang


def cardinal(n: int, language: str, *, before_noun: bool = False) -> str:
    """A whole number in words; ``before_noun`` applies the Spanish apocope (uno -> un)."""
    if n < 0:
        raise ValueError("cardinal of a negative number")
    lang = _language(language)
    if lang == "en":
        return str(num2words(n, lang="en")).replace(",", "").replace(" and ", " ")
    words = _ES_BEFORE_BIG.sub(lambda m: "veintiún" if m.group(1) else "un", str(num2words(n, lang="es")))
    if before_noun:
        if words.endswith("veintiuno"):
            words = words[: -len("veintiuno")] + "veintiún"
        elif words == "uno" or words.endswith(" uno"):
            words = words[: -len("uno")] + "un"
    return words


def _counted(n: int, one: str, many: str, language: str) -> str:
    words = cardinal(n, language, before_noun=True)
    if n == 1:
        return f"{words} {one}"
    if language == "es" and (words.endswith("millón") or words.endswith("millones")):
        return f"{words} de {many}"
    return f"{words} {many}"


def amount_words(amount: Decimal, currency: str, language: str) -> str:
    """``Decimal("1234.50"), "MXN", "es"`` -> "mil doscientos treinta y cuatro pesos con cincuenta centavos"."""
    lang = _language(language)
    names = CURRENCIES[lang].get(currency.upper())
    if names is None:
        raise ValueError(f"no words for currency {currency!r}; known: {sorted(CURRENCIES[lang])}")
    if amount < 0:
        raise ValueError("amount in words of a negative amount")
    cents_total = int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    units, cents = divmod(cents_total, 100)
    main = _counted(units, names.one, names.many, lang)
    if cents == 0:
        return main
    minor = _counted(cents, names.cent_one, names.cent_many, lang)
    if units == 0:
        return minor
    return f"{main} con {minor}" if lang == "es" else f"{main} and {minor}"


def date_words(day: date, language: str, *, today: date | None = None) -> str:
    """``date(2026, 11, 5)`` -> "el cinco de noviembre" / "November fifth"; the year only if not this one."""
    lang = _language(language)
    month = MONTHS[lang][day.month - 1]
    show_year = today is not None and today.year != day.year
    if lang == "es":
        number = "primero" if day.day == 1 else cardinal(day.day, "es")
        text = f"el {number} de {month}"
        return f"{text} de {cardinal(day.year, 'es')}" if show_year else text
    text = f"{month} {num2words(day.day, lang='en', to='ordinal')}"
    return f"{text}, {cardinal(day.year, 'en')}" if show_year else text


def minutes_words(seconds: float, language: str) -> str:
    """A wait, rounded up to whole minutes: "tres minutos" / "one minute"."""
    lang = _language(language)
    minutes = max(1, int(-(-seconds // 60)))
    one, many = ("minuto", "minutos") if lang == "es" else ("minute", "minutes")
    return _counted(minutes, one, many, lang)


def digits_words(digits: str, language: str) -> str:
    """A phone or reference number read digit by digit: "cinco, cinco, uno..."."""
    lang = _language(language)
    return ", ".join(cardinal(int(d), lang) for d in digits if d.isdigit())


def time_words(hour: int, minute: int, language: str) -> str:
    """A clock time: "las nueve" / "las trece treinta"; "nine a.m." / "one thirty p.m."."""
    lang = _language(language)
    if lang == "es":
        article = "la" if hour == 1 else "las"
        text = f"{article} {cardinal(hour, 'es') if hour != 1 else 'una'}"
        return f"{text} {cardinal(minute, 'es')}" if minute else text
    suffix = "a.m." if hour < 12 else "p.m."
    h12 = hour % 12 or 12
    text = cardinal(h12, "en")
    if minute:
        text += " oh " + cardinal(minute, "en") if minute < 10 else " " + cardinal(minute, "en")
    return f"{text} {suffix}"
