"""The agent desktop's own rules, in Chromium, with a stand-in for the server's websocket.

What the page must enforce by itself (before anything reaches the server): a disposition
before going ready again, a promise inside the balance and the campaign's horizon, a callback
time read in the debtor's time zone; and what it must survive: a dropped socket, a reload.
The same flows against the real server are in test_live.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from tests.browser.conftest import FakeServerSocket, shot

pytestmark = pytest.mark.browser

AGENT_SESSION = {"token": "t-agente1", "role": "agent", "username": "agente1", "display_name": "Agente Uno"}

POP: dict[str, Any] = {
    "type": "screen_pop",
    "call_id": "c-0001",
    "number": "+526641234567",
    "seconds_connected": 0,
    "account": {
        "id": 7,
        "external_ref": "MX-0007",
        "debtor_name": "Rosa Elena Martínez",
        "balance": "4200.00",
        "currency": "MXN",
        "days_past_due": 41,
        "due_date": "2026-10-14",
        "segment": "tarjeta",
        "time_zone": "America/Tijuana",
        "phones": [{"e164": "+526641234567"}],
    },
    "payments": [{"paid_at": "2026-09-02T17:00:00Z", "amount": "800.00", "reference": "OXXO 55"}],
    "promises": [{"promised_for": "2026-10-30", "amount": "1000.00", "status": "broken"}],
    "dispositions": [
        {"created_at": "2026-10-25T16:00:00Z", "code": "callback", "agent": "agente3",
         "notes": "Pide que le llamen el lunes."},
    ],
    "script": "¿Hablo con {nombre}? Su saldo es de {saldo} con {dias_atraso} días de atraso.",
    "promise_horizon_days": 10,
    "wrap_up_limit_seconds": 30,
}


def wait_for(page: Any, predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Lets Playwright deliver the socket's messages until predicate() holds."""
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"timed out waiting for {what}")


def open_desk(new_page: Any, static_site: Any, fake: FakeServerSocket, size: str = "hd") -> Any:
    page = new_page(size)
    page.add_init_script(f"sessionStorage.setItem('recobro.session', {json.dumps(json.dumps(AGENT_SESSION))})")
    page.route("**/api/**", lambda route: route.fulfill(json=[]))
    page.route_web_socket("**/ws/agent*", fake.handler)
    page.goto(f"{static_site.url}/agent.html")
    wait_for(page, lambda: fake.connections >= 1, "the desktop to connect")
    return page


def test_a_call_must_be_dispositioned_before_going_ready_and_the_promise_is_checked(new_page, static_site) -> None:
    fake = FakeServerSocket(lambda f: f.send({"type": "state", "state": "ready", "seconds_in_state": 5}))
    page = open_desk(new_page, static_site, fake)
    page.get_by_test_id("agent-state").filter(has_text="Disponible").wait_for()
    assert page.locator("#btn-ready").is_disabled(), "already ready"

    fake.send({"type": "state", "state": "on_call", "seconds_in_state": 0})
    fake.send(POP)
    page.get_by_test_id("pop-name").filter(has_text="Rosa Elena Martínez").wait_for()
    assert page.get_by_test_id("pop-balance").inner_text() == "$4,200.00"
    assert page.get_by_test_id("pop-dpd").inner_text() == "41"
    assert "Rosa Elena Martínez" in page.get_by_test_id("pop-script").inner_text()
    assert "$4,200.00" in page.get_by_test_id("pop-script").inner_text()
    assert "Incumplida" in page.get_by_test_id("pop-promises").inner_text()
    assert page.locator("#btn-ready").is_disabled()
    assert page.locator("#btn-pause").is_disabled(), "no pause in the middle of a call"

    fake.send({"type": "call_ended", "call_id": "c-0001", "cause": "normal"})
    fake.send({"type": "state", "state": "wrap_up", "seconds_in_state": 0, "wrap_up_limit_seconds": 30})
    page.get_by_test_id("wrap-timer").filter(has_text="de cierre").wait_for()
    assert page.locator("#must-dispose").is_visible()
    assert page.locator("#btn-ready").is_disabled(), "ready is refused until the disposition is saved"

    # nothing chosen
    page.keyboard.press("Control+Enter")
    assert page.get_by_test_id("disp-error").inner_text() == "Elige el resultado de la llamada."
    page.get_by_label("Promesa de pago").check()
    # above the balance
    page.fill("#promise-amount", "5000")
    page.fill("#promise-date", (date.today() + timedelta(days=3)).isoformat())
    page.click("#btn-save")
    assert "no mayor que el saldo ($4,200.00)" in page.get_by_test_id("disp-error").inner_text()
    assert page.locator("#promise-amount").get_attribute("aria-invalid") == "true"
    # beyond the 10-day horizon
    page.fill("#promise-amount", "1500.5")
    page.fill("#promise-date", (date.today() + timedelta(days=20)).isoformat())
    page.click("#btn-save")
    assert "La fecha de pago debe estar entre hoy y el" in page.get_by_test_id("disp-error").inner_text()
    assert not fake.of_type("disposition"), "nothing invalid reaches the server"
    page.fill("#promise-date", (date.today() + timedelta(days=7)).isoformat())
    page.fill("#disp-notes", "Paga con su quincena.")
    shot(page, "agent-desktop-wrapup-1366x768")
    page.keyboard.press("Control+Enter")
    wait_for(page, lambda: bool(fake.of_type("disposition")), "the disposition")
    sent = fake.of_type("disposition")[0]
    assert sent["code"] == "promise_to_pay"
    assert sent["promise_amount"] == "1500.50"
    assert sent["promise_date"] == (date.today() + timedelta(days=7)).isoformat()
    assert sent["notes"] == "Paga con su quincena."
    assert sent["call_id"] == "c-0001"
    assert sent["idempotency_key"]

    fake.send({"type": "disposition_saved", "call_id": "c-0001"})
    page.locator("#btn-ready:not([disabled])").wait_for()
    page.keyboard.press("F2")
    wait_for(page, lambda: bool(fake.of_type("ready")), "ready")
    fake.send({"type": "state", "state": "ready", "seconds_in_state": 0})
    page.get_by_test_id("agent-state").filter(has_text="Disponible").wait_for()


def test_a_callback_is_sent_in_the_debtors_time_zone(new_page, static_site) -> None:
    def replay(f: FakeServerSocket) -> None:
        f.send({"type": "state", "state": "wrap_up", "seconds_in_state": 2})
        f.send(POP)

    fake = FakeServerSocket(replay)
    page = open_desk(new_page, static_site, fake)
    page.get_by_test_id("pop-name").filter(has_text="Rosa").wait_for()
    page.get_by_label("Volver a llamar").check()
    assert "America/Tijuana" in page.locator("#callback-label").inner_text()
    day = date.today() + timedelta(days=2)
    page.fill("#callback-at", f"{day.isoformat()}T11:15")
    page.click("#btn-save")
    wait_for(page, lambda: bool(fake.of_type("disposition")), "the disposition")
    sent = fake.of_type("disposition")[0]
    # the browser runs in Mexico City's zone; 11:15 is the debtor's clock in Tijuana
    assert str(sent["callback_at"]).startswith(f"{day.isoformat()}T11:15:00-0")
    assert str(sent["callback_at"])[-6:] in ("-08:00", "-07:00")
    assert "promise_amount" not in sent


def test_shortcuts_pause_with_the_chosen_reason(new_page, static_site) -> None:
    fake = FakeServerSocket(lambda f: f.send({"type": "state", "state": "ready", "seconds_in_state": 0}))
    page = open_desk(new_page, static_site, fake)
    page.get_by_test_id("agent-state").filter(has_text="Disponible").wait_for()
    page.select_option("#pause-reason", "lunch")
    page.keyboard.press("F3")
    wait_for(page, lambda: bool(fake.of_type("pause")), "pause")
    assert fake.of_type("pause")[0]["reason"] == "lunch"
    fake.send({"type": "state", "state": "paused", "reason": "lunch", "seconds_in_state": 0})
    page.get_by_test_id("agent-state").filter(has_text="En pausa").wait_for()
    assert page.locator("#state-reason").inner_text() == "Comida"
    page.click("#lang-switch")
    assert page.get_by_test_id("agent-state").inner_text() == "Paused"
    assert page.locator("#state-reason").inner_text() == "Lunch"
    page.click("#lang-switch")


def test_a_dropped_socket_and_a_reload_come_back_to_the_live_call(new_page, static_site) -> None:
    def replay(f: FakeServerSocket) -> None:
        f.send({"type": "state", "state": "on_call", "seconds_in_state": 30})
        f.send({**POP, "seconds_connected": 30})

    fake = FakeServerSocket(replay)
    page = open_desk(new_page, static_site, fake)
    page.get_by_test_id("pop-name").filter(has_text="Rosa").wait_for()
    page.get_by_label("Ya pagó").check()
    page.fill("#disp-notes", "Dice que pagó ayer en OXXO.")

    fake.drop()
    page.locator("#conn[data-status=offline], #conn[data-status=connecting]").wait_for()
    wait_for(page, lambda: fake.connections >= 2, "the reconnection")
    page.locator("#conn[data-status=online]").wait_for()
    assert page.get_by_test_id("pop-balance").inner_text() == "$4,200.00"
    assert page.locator("#disp-notes").input_value() == "Dice que pagó ayer en OXXO.", "a reconnect keeps the typing"

    page.reload()
    wait_for(page, lambda: fake.connections >= 3, "the connection after the reload")
    page.get_by_test_id("pop-name").filter(has_text="Rosa").wait_for()
    assert page.get_by_test_id("agent-state").inner_text() == "En llamada"
    assert page.locator("#disp-notes").input_value() == "Dice que pagó ayer en OXXO.", "a reload keeps the draft"
    assert page.get_by_label("Ya pagó").is_checked()
    # the call timer goes on from the server's count, not from zero
    minutes, seconds = page.get_by_test_id("call-timer").inner_text().split(":")
    assert int(minutes) * 60 + int(seconds) >= 30


def test_pause_reasons_of_the_acd_and_a_wrap_up_that_ran_out_are_told(new_page, static_site) -> None:
    fake = FakeServerSocket(lambda f: f.send({"type": "state", "state": "paused", "reason": "login",
                                              "seconds_in_state": 0}))
    page = open_desk(new_page, static_site, fake)
    page.locator("#state-reason").filter(has_text="Recién conectado").wait_for()
    fake.send({"type": "state", "state": "paused", "reason": "coaching", "seconds_in_state": 0})
    page.locator("#state-reason").filter(has_text="coaching").wait_for()  # a floor's own code, as it is

    fake.send({"type": "state", "state": "on_call", "seconds_in_state": 0})
    fake.send(POP)
    page.get_by_test_id("pop-name").filter(has_text="Rosa").wait_for()
    fake.send({"type": "state", "state": "wrap_up", "seconds_in_state": 0, "wrap_up_limit_seconds": 30})
    page.get_by_test_id("wrap-timer").filter(has_text="Quedan 0:").wait_for()
    fake.send({"type": "state", "state": "ready", "reason": "", "seconds_in_state": 0})  # the limit ran out
    page.locator("#toast.show").filter(has_text="Se agotó el tiempo de cierre").wait_for()
    assert page.locator("#disp-fields").get_attribute("disabled") is not None, "nothing left to disposition"
    assert page.get_by_label("Promesa de pago").is_disabled()
