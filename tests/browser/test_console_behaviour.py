"""The supervisor console's and the lists page's own behaviour, with a stand-in server.

Confirmation before anything that drops calls, limits checked before they are sent, the
wallboard redrawn from each metrics message. The same flows against the real server are in
test_live.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.browser.conftest import FakeServerSocket, shot
from tests.browser.test_agent_desktop_behaviour import wait_for

pytestmark = pytest.mark.browser

SUP_SESSION = {"token": "t-sup", "role": "supervisor", "username": "supervisor", "display_name": "Supervisora"}


def metrics(target: float = 0.03, dial: float = 2.4, paused: bool = False) -> dict[str, Any]:
    return {
        "type": "metrics",
        "campaigns": [{
            "campaign_id": 1, "name": "demo", "mode": "predictive", "paused": paused, "dial_level": dial,
            "max_dial_ratio": 3.0, "calls_in_flight": 9, "answer_rate": 0.4, "live_answer_rate": 0.25,
            "abandon_rate_run": 0.02, "abandon_rate_today": 0.035, "abandon_rate_30d": 0.012,
            "target_abandon_rate": target, "utilization": 0.82, "queue_length": 0, "queue_oldest_wait_seconds": 0,
            "agents_by_state": {"ready": 1, "on_call": 1, "paused": 0},
        }],
        "agents": [
            {"username": "agente1", "display_name": "Agente Uno", "campaign": "demo", "state": "on_call",
             "seconds_in_state": 75, "calls": 4, "promises": 2},
            {"username": "agente2", "display_name": "Agente Dos", "campaign": "demo", "state": "ready",
             "seconds_in_state": 5, "calls": 3, "promises": 0},
        ],
    }


def open_console(new_page: Any, static_site: Any, fake: FakeServerSocket) -> Any:
    page = new_page()
    page.add_init_script(f"sessionStorage.setItem('recobro.session', {json.dumps(json.dumps(SUP_SESSION))})")
    page.route("**/api/**", lambda route: route.fulfill(json=[]))
    page.route_web_socket("**/ws/supervisor*", fake.handler)
    page.goto(f"{static_site.url}/supervisor.html")
    wait_for(page, lambda: fake.connections >= 1, "the console to connect")
    return page


def test_wallboard_shows_the_campaign_against_its_target_and_controls_are_checked(new_page, static_site) -> None:
    fake = FakeServerSocket(lambda f: f.send(metrics()))
    page = open_console(new_page, static_site, fake)
    page.get_by_test_id("dial-level").filter(has_text="2.40").wait_for()
    assert page.get_by_test_id("in-flight").inner_text() == "9"
    assert page.get_by_test_id("abandon-today").inner_text() == "3.50 %"
    assert page.get_by_test_id("target-abandon").inner_text() == "3.0 %"
    assert "over" in (page.locator("#tile-ab-today").get_attribute("class") or ""), "above target shows red"
    assert page.locator("#chart canvas").count() == 1, "the uPlot chart is drawn"
    assert page.locator("#c-target").input_value() == "3.0"

    page.fill("#c-target", "4")
    page.click("#c-apply")
    assert "entre 0 y 3" in page.locator("#c-error").inner_text()
    page.fill("#c-target", "2")
    page.click("#c-apply")
    wait_for(page, lambda: bool(fake.of_type("control")), "the control message")
    sent = fake.of_type("control")[-1]
    assert sent["campaign_id"] == 1
    assert sent["target_abandon_rate"] == 0.02
    assert "max_dial_ratio" not in sent, "only what changed is sent"

    fake.send(metrics(target=0.02, dial=1.9))
    page.get_by_test_id("target-abandon").filter(has_text="2.0 %").wait_for()
    assert page.get_by_test_id("dial-level").inner_text() == "1.90"


def test_dropping_calls_needs_a_confirmation(new_page, static_site) -> None:
    fake = FakeServerSocket(lambda f: f.send(metrics()))
    page = open_console(new_page, static_site, fake)
    row = page.locator("tr[data-agent=agente1]")
    row.wait_for()
    row.get_by_role("button", name="Cerrar sesión").click()
    dialog = page.get_by_test_id("confirm-dialog")
    assert "¿Cerrar la sesión de Agente Uno?" in dialog.inner_text()
    assert "está en una llamada: se cortará" in dialog.inner_text()
    shot(page, "supervisor-confirm-1366x768")
    dialog.get_by_role("button", name="Cancelar").click()
    page.wait_for_timeout(200)
    assert not fake.of_type("control"), "cancelled: nothing sent"

    row.get_by_role("button", name="Cerrar sesión").click()
    page.get_by_test_id("confirm-dialog").get_by_role("button", name="Confirmar").click()
    wait_for(page, lambda: bool(fake.of_type("control")), "the force logout")
    assert fake.of_type("control")[-1] == {"type": "control", "action": "force_logout", "agent": "agente1"}

    page.get_by_test_id("pause-campaign").click()
    assert "¿Pausar la campaña demo?" in page.get_by_test_id("confirm-dialog").inner_text()
    page.get_by_test_id("confirm-dialog").get_by_role("button", name="Confirmar").click()
    wait_for(page, lambda: fake.of_type("control")[-1].get("action") == "pause", "the campaign pause")
    fake.send(metrics(paused=True))
    page.get_by_test_id("pause-campaign").filter(has_text="Reanudar campaña").wait_for()
    # resuming drops nothing: no question asked
    page.get_by_test_id("pause-campaign").click()
    wait_for(page, lambda: fake.of_type("control")[-1].get("action") == "resume", "the campaign resume")
