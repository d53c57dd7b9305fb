"""Calling windows in the debtor's local time: the jurisdiction's hours, holidays, the campaign's.

A call is inside the window when, in every zone the debtor may be in, the local time is inside
the hours of every jurisdiction that applies (that weekday, not a public holiday where the
jurisdiction forbids holidays) and inside the campaign's own daily window: the intersection,
so the strictest bound always wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from recobro.compliance.jurisdictions import Jurisdiction
from recobro.compliance.refusals import Refusal, Rule, refuse
from recobro.domain.campaigns import CallingWindow

_DAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábados", "domingos")
_DAYS_EN = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
_SEARCH_DAYS = 15  # longest run of closed days any table can produce, with margin


class HolidayCalendar:
    """Public holidays by country, loaded lazily; one per batch of checks (not module state)."""

    __slots__ = ("_by_country",)

    def __init__(self) -> None:
        self._by_country: dict[tuple[str, str], holidays.HolidayBase] = {}

    def name(self, country: str, day: date, language: str = "es") -> str | None:
        """The holiday's name (in ``language`` where the calendar has it) if ``day`` is one, else None."""
        cal = self._by_country.get((country, language))
        if cal is None:
            cal = holidays.country_holidays(country, language=language)
            self._by_country[(country, language)] = cal
        found = cal.get(day)
        return None if found is None else str(found)


def _hm(t: time) -> str:
    return t.strftime("%H:%M")


def _closed_in(
    zone: str,
    local: datetime,
    jurisdictions: Sequence[Jurisdiction],
    window: CallingWindow,
    calendar: HolidayCalendar,
) -> Refusal | None:
    """The refusal for local time ``local`` in ``zone``, without ``until``; None when open."""
    day = local.date()
    weekday = local.weekday()
    now_t = local.time()
    for j in jurisdictions:
        if j.holidays_country:
            holiday = calendar.name(j.holidays_country, day)
            if holiday is not None:
                holiday_en = calendar.name(j.holidays_country, day, "en_US")
                return refuse(
                    Rule.WINDOW_HOLIDAY,
                    f"{day.isoformat()} es día festivo en {j.name_es} ({holiday}); no se llama en festivos",
                    f"{day.isoformat()} is a public holiday in {j.name_en} ({holiday_en}); no calls on holidays",
                )
        hours = j.hours[weekday]
        if hours is None:
            return refuse(
                Rule.WINDOW_JURISDICTION,
                f"en {j.name_es} no se permiten llamadas de cobranza los {_DAYS_ES[weekday]} ({zone})",
                f"collection calls are not allowed on {_DAYS_EN[weekday]} in {j.name_en} ({zone})",
            )
        if not hours[0] <= now_t < hours[1]:
            return refuse(
                Rule.WINDOW_JURISDICTION,
                f"son las {_hm(now_t)} en {zone}; en {j.name_es} se permite llamar de "
                f"{_hm(hours[0])} a {_hm(hours[1])}",
                f"it is {_hm(now_t)} in {zone}; {j.name_en} allows calls from {_hm(hours[0])} to {_hm(hours[1])}",
            )
    if not window.start <= now_t < window.end:
        return refuse(
            Rule.WINDOW_CAMPAIGN,
            f"son las {_hm(now_t)} en {zone}, fuera del horario de la campaña ({_hm(window.start)}-{_hm(window.end)})",
            f"it is {_hm(now_t)} in {zone}, outside the campaign's hours ({_hm(window.start)}-{_hm(window.end)})",
        )
    return None


def window_refusal(
    zones: Sequence[str],
    now: datetime,
    jurisdictions: Sequence[Jurisdiction],
    window: CallingWindow,
    calendar: HolidayCalendar,
) -> Refusal | None:
    """The first zone where the window is closed at ``now``, as a refusal with its next opening."""
    for zone in zones:
        tz = ZoneInfo(zone)
        local = now.astimezone(tz)
        closed = _closed_in(zone, local, jurisdictions, window, calendar)
        if closed is not None:
            opening = next_opening(zone, now, jurisdictions, window, calendar)
            return Refusal(closed.rule, closed.reason, opening)
    return None


def day_hours(
    day: date, jurisdictions: Sequence[Jurisdiction], window: CallingWindow, calendar: HolidayCalendar
) -> tuple[time, time] | None:
    """The intersected hours of a local calendar day, or None when no call is allowed that day."""
    start, end = window.start, window.end
    for j in jurisdictions:
        if j.holidays_country and calendar.name(j.holidays_country, day) is not None:
            return None
        hours = j.hours[day.weekday()]
        if hours is None:
            return None
        start, end = max(start, hours[0]), min(end, hours[1])
    return (start, end) if start < end else None


def next_opening(
    zone: str,
    now: datetime,
    jurisdictions: Sequence[Jurisdiction],
    window: CallingWindow,
    calendar: HolidayCalendar,
) -> datetime | None:
    """The first moment at or after ``now`` when the window is open in ``zone``; None if never."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    for offset in range(_SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        hours = day_hours(day, jurisdictions, window, calendar)
        if hours is None:
            continue
        start, end = hours
        if offset == 0:
            t = local.time()
            if t >= end:
                continue
            if t >= start:
                return now
        opening = datetime.combine(day, start, tzinfo=tz)
        return opening.astimezone(now.tzinfo)
    return None
