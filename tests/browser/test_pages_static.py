"""What the pages do by themselves, in Chromium: language switch, time-zone helpers, login form checks."""

from __future__ import annotations

import pytest

from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


def test_login_page_is_spanish_first_and_switches_to_english(new_page, static_site) -> None:
    page = new_page()
    page.goto(f"{static_site.url}/login.html")
    assert page.locator("html").get_attribute("lang") == "es-MX"
    assert page.locator("h1").inner_text() == "Iniciar sesión"
    page.click("#lang-switch")
    assert page.locator("h1").inner_text() == "Sign in"
    assert page.locator("html").get_attribute("lang") == "en-US"
    page.reload()
    assert page.locator("h1").inner_text() == "Sign in", "the language choice survives a reload"
    page.click("#lang-switch")
    assert page.locator("h1").inner_text() == "Iniciar sesión"
    # an empty form is refused before anything is sent, naming what is missing
    page.click("button[type=submit]")
    assert page.locator("#login-error").inner_text() == "Falta: Usuario."
    shot(page, "login-1366x768")


def test_callback_times_are_read_in_the_debtors_time_zone(new_page, static_site) -> None:
    page = new_page()
    page.goto(f"{static_site.url}/login.html")
    result = page.evaluate(
        """async () => {
            const tz = await import('./js/tz.js');
            return {
              cdmx: tz.wallToIso('2026-11-25T10:30', 'America/Mexico_City'),
              tijuana_summer: tz.wallToIso('2026-07-01T09:00', 'America/Tijuana'),
              phoenix: tz.wallToIso('2026-07-01T09:00', 'America/Phoenix'),
              ny_winter: tz.wallToIso('2026-01-15T18:45', 'America/New_York'),
              bad: tz.wallToIso('mañana', 'America/Mexico_City'),
              today: tz.todayIn('America/Mexico_City', new Date('2026-11-25T05:00:00Z')),
              plus30: tz.addDays('2026-11-25', 30),
            };
        }"""
    )
    assert result == {
        "cdmx": "2026-11-25T10:30:00-06:00",
        "tijuana_summer": "2026-07-01T09:00:00-07:00",
        "phoenix": "2026-07-01T09:00:00-07:00",
        "ny_winter": "2026-01-15T18:45:00-05:00",
        "bad": None,
        "today": "2026-11-24",
        "plus30": "2026-12-25",
    }
