"""The pages against a real ``recobro serve`` on the simulated PBX, in Chromium.

An agent logs in, goes ready, takes a call the predictive engine places, sees the screen pop
with the balance the database holds, records a promise to pay inside the campaign's horizon
and is ready again; a supervisor lowers the target abandon rate and the wallboard's dial level
follows; a bad CSV upload shows its rejected rows; every page is photographed at 1366x768 and
1920x1080 (tests/browser/screenshots/).
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from statistics import mean
from typing import Any

import pytest

from tests.browser.conftest import SIZES, LiveServer, shot

pytestmark = pytest.mark.browser


def query(live: LiveServer, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(live.database, timeout=10)) as db:
        return db.execute(sql, args).fetchall()


def frames(page: Any, path: str) -> list[dict[str, Any]]:
    """Every JSON message the server sends the page on the websocket at ``path`` (filled as they come)."""
    seen: list[dict[str, Any]] = []

    def on_socket(ws: Any) -> None:
        if path in ws.url:
            ws.on("framereceived", lambda payload: seen.append(json.loads(payload)))

    page.on("websocket", on_socket)
    return seen


def wait_until(page: Any, predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def log_in(page: Any, live: LiveServer, username: str, lands_on: str) -> None:
    page.goto(f"{live.url}/login.html")
    page.fill("#username", username)
    page.fill("#password", live.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/{lands_on}")


def amount_of(text: str) -> Decimal:
    """'$85,129.13' or 'USD 88,085.39' as a number."""
    return Decimal("".join(ch for ch in text if ch.isdigit() or ch == "."))


def both_sizes(page: Any, name: str) -> None:
    for width, height in SIZES.values():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(150)  # the chart follows the window's size
        shot(page, f"{name}-{width}x{height}")
    page.set_viewport_size({"width": SIZES["hd"][0], "height": SIZES["hd"][1]})


def test_an_agent_takes_a_call_and_records_a_promise_to_pay(new_page: Any, live_server: LiveServer) -> None:
    live = live_server
    page = new_page()
    seen = frames(page, "/ws/agent")
    log_in(page, live, live.agent, "agent.html")
    page.get_by_test_id("agent-state").filter(has_text="En pausa").wait_for()
    page.locator("#conn[data-status=online]").wait_for()
    page.click("#btn-ready")
    page.get_by_test_id("agent-state").filter(has_text="Disponible").wait_for()
    both_sizes(page, "agent-ready")

    pop = wait_until(page, lambda: next((m for m in seen if m["type"] == "screen_pop"), None),
                     "a call routed to the agent", timeout=60)
    page.get_by_test_id("pop-name").filter(has_text=pop["account"]["debtor_name"]).wait_for()
    account_id = pop["account_id"]
    name, balance, currency, dpd = query(
        live, "SELECT debtor_name, balance, currency, days_past_due FROM accounts WHERE id = ?", account_id)[0]
    balance = Decimal(str(balance)).quantize(Decimal("0.01"))
    shown = page.get_by_test_id("pop-balance").inner_text()
    assert amount_of(shown) == balance, f"the screen pop shows {shown}, the database holds {balance} {currency}"
    assert page.get_by_test_id("pop-name").inner_text() == name
    assert page.get_by_test_id("pop-dpd").inner_text() == str(dpd)
    script = page.get_by_test_id("pop-script").inner_text()
    assert script.startswith(f"Buenas tardes, ¿hablo con {name}?") and f"{balance}" in script, script
    assert pop["number"] in page.get_by_test_id("pop-phones").inner_text()
    both_sizes(page, "agent-call")
    page.reload()  # the server sends the state and the screen pop again: the call is still the agent's
    page.get_by_test_id("pop-name").filter(has_text=name).wait_for()
    assert amount_of(page.get_by_test_id("pop-balance").inner_text()) == balance
    assert sum(m["type"] == "screen_pop" and m["call_id"] == pop["call_id"] for m in seen) == 2

    page.get_by_test_id("agent-state").filter(has_text=re.compile("En llamada|Cierre")).wait_for(timeout=30_000)
    page.keyboard.press("F4")  # hang up (the debtor may have hung up first)
    page.get_by_test_id("agent-state").filter(has_text="Cierre").wait_for(timeout=30_000)
    page.get_by_test_id("wrap-timer").wait_for()
    assert page.locator("#btn-ready").is_disabled(), "no ready before the disposition"

    today = date.fromisoformat(pop["today"])  # the server's (simulated) clock, not the test machine's
    horizon = int(pop["promise_horizon_days"])
    assert page.locator("#promise-date").get_attribute("max") == (today + timedelta(days=horizon)).isoformat()
    amount = min(balance, Decimal("350.00"))
    promised_for = today + timedelta(days=5)
    page.get_by_label("Promesa de pago").check()
    page.fill("#promise-amount", f"{amount}")
    page.fill("#promise-date", (today + timedelta(days=horizon + 3)).isoformat())
    page.click("#btn-save")
    assert "La fecha de pago debe estar entre hoy y el" in page.get_by_test_id("disp-error").inner_text()
    page.fill("#promise-date", promised_for.isoformat())
    page.fill("#disp-notes", "Promete pagar en su quincena.")
    shot(page, "agent-wrapup-1366x768")
    page.keyboard.press("Control+Enter")

    saved = wait_until(page, lambda: next((m for m in seen if m["type"] == "disposition_saved"), None),
                       "the disposition to be saved")
    page.get_by_test_id("agent-state").filter(has_text="Disponible").wait_for()
    assert not page.locator("#must-dispose").is_visible()
    rows = query(live, "SELECT p.amount, p.promised_for, p.status, d.code, d.notes, a.username FROM promises p "
                       "JOIN dispositions d ON d.id = p.disposition_id JOIN agents a ON a.id = d.agent_id "
                       "WHERE p.disposition_id = ?", saved["disposition_id"])
    assert len(rows) == 1
    stored_amount, stored_date, status, code, notes, username = rows[0]
    assert Decimal(str(stored_amount)).quantize(Decimal("0.01")) == amount
    assert date.fromisoformat(str(stored_date)[:10]) == promised_for
    assert (status, code, notes, username) == ("pending", "promise_to_pay", "Promete pagar en su quincena.",
                                               live.agent)
    assert "Pendiente" in page.get_by_test_id("pop-promises").inner_text()
    page.click("#lang-switch")
    page.get_by_test_id("agent-state").filter(has_text="Ready").wait_for()
    assert "Pending" in page.get_by_test_id("pop-promises").inner_text()
    shot(page, "agent-ready-again-en-1366x768")
    page.click("#btn-pause")  # leave the floor tidy for the next tests
    page.get_by_test_id("agent-state").filter(has_text="Paused").wait_for()
    page.click("#lang-switch")


def test_preview_shows_the_next_account_the_rules_allow_and_skips_it(new_page: Any, live_server: LiveServer) -> None:
    page = new_page()
    seen = frames(page, "/ws/agent")
    log_in(page, live_server, live_server.agent, "agent.html")
    page.locator("#conn[data-status=online]").wait_for()
    page.get_by_test_id("agent-state").filter(has_text="En pausa").wait_for()
    page.click("#btn-preview")
    first = wait_until(page, lambda: next((m for m in seen if m["type"] == "preview"), None), "a preview")
    assert first["account"] is not None, first
    name, balance = query(live_server, "SELECT debtor_name, balance FROM accounts WHERE id = ?",
                          first["account_id"])[0]
    box = page.get_by_test_id("preview-box")
    box.filter(has_text=name).wait_for()
    assert amount_of(box.locator("strong").inner_text()) == Decimal(str(balance)).quantize(Decimal("0.01"))
    assert first["number"] in box.inner_text()
    page.select_option("#skip-reason", "bad_number")
    page.keyboard.press("F7")
    wait_until(page, lambda: any(m["type"] == "preview_skipped" for m in seen), "the skip")
    box.filter(has_text="No hay cuentas en vista previa.").wait_for()
    page.click("#btn-preview")
    again = wait_until(page, lambda: [m for m in seen if m["type"] == "preview"][1:], "a second preview")[0]
    assert again["account_id"] != first["account_id"], "a skipped account is not offered again"


@pytest.fixture
def supervisor_page(new_page: Any, live_server: LiveServer) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    page = new_page()
    seen = frames(page, "/ws/supervisor")
    log_in(page, live_server, live_server.supervisor, "supervisor.html")
    yield page, seen


def dial_levels(seen: list[dict[str, Any]], start: int = 0) -> list[float]:
    return [float(c["dial_level"]) for m in seen[start:] if m["type"] == "metrics"
            for c in m["campaigns"] if c["dial_level"] is not None]


def wallboard_dial_levels(page: Any, seconds: int) -> list[float]:
    """The dial level the wallboard shows, read once a second (one metrics message a second)."""
    shown = []
    for _ in range(seconds):
        page.wait_for_timeout(1000)
        text = page.get_by_test_id("dial-level").inner_text()
        if text != "—":
            shown.append(float(text))
    return shown


def set_target(page: Any, seen: list[dict[str, Any]], percent: str) -> None:
    """The supervisor types a target abandon rate and applies it; the server confirms it."""
    acks = sum(m["type"] == "control_ok" for m in seen)
    page.fill("#c-target", percent)
    page.click("#c-apply")
    wait_until(page, lambda: sum(m["type"] == "control_ok" for m in seen) > acks, "the change to be accepted")
    ack = [m for m in seen if m["type"] == "control_ok"][-1]
    assert ack["campaign"]["target_abandon_rate"] == round(float(percent) / 100, 4)
    page.get_by_test_id("target-abandon").filter(has_text=f"{float(percent):.1f} %").wait_for()


def test_a_supervisor_lowers_the_target_abandon_rate_and_the_dial_level_follows(
    supervisor_page: tuple[Any, list[dict[str, Any]]], live_server: LiveServer,
) -> None:
    """The dial level is calls in flight per logged-in agent, which jumps from second to second
    with a handful of agents; what the target changes is its level over a stretch of time. With
    a 3 % budget the warmed-up engine dials ahead of the free agents; with none left it may not
    risk an abandon and dials little more than the ready agents can take. Measured here over
    12-second windows (8 simulated agents, 20x): 0.65 -> 0.40, 0.67 -> 0.43, 0.66 -> 0.38,
    0.66 -> 0.40; early in a run the 3 % level varies more (0.55 to 1.12), so a window pair that
    does not show the drop is measured once more before the test fails."""
    page, seen = supervisor_page
    page.locator("#conn[data-status=online]").wait_for()
    page.get_by_test_id("target-abandon").filter(has_text="3.0 %").wait_for()
    assert page.locator("#chart canvas").count() == 1
    wait_until(page, lambda: any(level > 1.0 for level in dial_levels(seen)),
               "the predictive engine to dial more calls than agents", timeout=90)
    before = wallboard_dial_levels(page, 12)
    both_sizes(page, "supervisor")
    set_target(page, seen, "0")
    assert page.locator("#c-target").input_value() == "0.0"
    page.wait_for_timeout(3000)  # the calls launched before the change ring out (a minute simulated)
    after = wallboard_dial_levels(page, 12)
    if mean(after) >= mean(before):  # a second pair of windows
        set_target(page, seen, "3")
        page.wait_for_timeout(3000)
        before = wallboard_dial_levels(page, 12)
        set_target(page, seen, "0")
        page.wait_for_timeout(3000)
        after = wallboard_dial_levels(page, 12)
    assert len(before) >= 10 and len(after) >= 10, "a metrics message every second"
    assert mean(after) < mean(before), f"dial level with 3 %: {before}; with 0 %: {after}"
    changes = query(live_server, "SELECT field, old_value, new_value, changed_by FROM campaign_changes "
                                 "WHERE field = 'target_abandon_rate' ORDER BY id")
    assert changes and changes[-1][0] == "target_abandon_rate"
    assert float(changes[-1][1]) == 0.03 and float(changes[-1][2]) == 0.0 and changes[-1][3] == "supervisor"

    set_target(page, seen, "3")  # back to the demo's budget
    page.click("#lang-switch")
    page.locator("#c-apply").filter(has_text="Apply").wait_for()
    both_sizes(page, "supervisor-en")
    page.click("#lang-switch")


BAD_CSV = """external_ref,debtor_name,phone1,balance,due_date
MX-9000001,Lucía Hernández Ruiz,5512345678,1500.00,2026-10-01
MX-9000002,Pedro Gómez,12345,800.00,2026-10-02
MX-9000003,,5598765432,900.00,2026-10-03
MX-9000004,Ana Torres,5587654321,mil pesos,2026-10-04
MX-9000005,José Luis Pérez,5576543210,2100.50,ayer
"""


def test_a_bad_csv_upload_shows_its_rejected_rows_with_reasons(
    new_page: Any, live_server: LiveServer, tmp_path: Path,
) -> None:
    page = new_page()
    log_in(page, live_server, live_server.supervisor, "supervisor.html")
    page.goto(f"{live_server.url}/lists.html")
    page.locator("#u-campaign option[value=demo]").wait_for(state="attached")
    missing = tmp_path / "sin-saldo.csv"
    missing.write_text("external_ref,debtor_name,phone1,due_date\nMX-1,Ana,5512345678,2026-10-01\n")
    page.set_input_files("#u-file", str(missing))
    page.click("#u-submit")
    page.get_by_test_id("upload-error").filter(has_text="balance").wait_for()
    assert page.get_by_test_id("import-result").is_hidden()

    bad = tmp_path / "cuentas-con-errores.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    page.set_input_files("#u-file", str(bad))
    assert page.locator("#u-file-name").inner_text() == "cuentas-con-errores.csv"
    page.select_option("#u-campaign", "demo")
    page.click("#u-submit")
    page.get_by_test_id("import-result").wait_for()
    assert page.get_by_test_id("count-imported").inner_text() == "1"
    assert page.get_by_test_id("count-rejected").inner_text() == "4"
    rows = page.get_by_test_id("rejected-rows").locator("tbody tr")
    by_line = {r.get_attribute("data-line"): r.inner_text() for r in rows.all()}
    assert set(by_line) == {"3", "4", "5", "6"}, by_line
    assert "phone1" in by_line["3"] and "12345" in by_line["3"]
    assert "debtor_name" in by_line["4"]
    assert "balance" in by_line["5"] and "mil pesos" in by_line["5"]
    assert "due_date" in by_line["6"] and "ayer" in by_line["6"]
    for text in by_line.values():
        assert " / " in text, f"every reason in Spanish and English: {text}"
    assert query(live_server, "SELECT debtor_name FROM accounts WHERE external_ref = 'MX-9000001'") == [
        ("Lucía Hernández Ruiz",)]
    both_sizes(page, "lists-rejected")


def test_the_campaigns_page_edits_the_live_campaign_and_creates_one(new_page: Any, live_server: LiveServer) -> None:
    page = new_page()
    log_in(page, live_server, live_server.supervisor, "supervisor.html")
    page.goto(f"{live_server.url}/campaigns.html")
    row = page.get_by_test_id("campaign-list").locator("tr", has_text="demo")
    row.get_by_role("button").click()
    assert page.locator("#f-name").input_value() == "demo"
    assert page.locator("#f-skills").input_value() == "es"
    script = "Buenas tardes, ¿hablo con {debtor_name}? Le llamo de {company_name}."
    page.fill("#f-script", script)
    page.fill("#f-max-day", "2")
    page.click("#campaign-form button[type=submit]")
    page.locator("#toast.show").filter(has_text="Campaña actualizada").wait_for()
    stored, retry = query(live_server, "SELECT script, retry FROM campaigns WHERE name = 'demo'")[0]
    assert stored == script and json.loads(retry)["max_attempts_per_number_per_day"] == 2
    assert page.locator("#f-script").input_value() == script, "the form shows what was stored"
    page.fill("#f-ratio", "12")
    page.click("#campaign-form button[type=submit]")
    assert "entre 1 y 10" in page.get_by_test_id("campaign-error").inner_text()
    both_sizes(page, "campaigns")

    page.click("#new-campaign")
    assert page.locator("#f-name").input_value() == ""
    page.fill("#f-name", "temprana-web")
    page.select_option("#f-mode", "progressive")
    page.fill("#f-start", "09:00")
    page.fill("#f-end", "19:30")
    page.fill("#f-skills", "es, segment:retail")
    page.fill("#r-busy", "20")
    page.click("#campaign-form button[type=submit]")
    page.locator("#toast.show").filter(has_text="Campaña creada").wait_for()
    row = query(live_server, "SELECT mode, window_start, window_end, required_skills, retry, paused FROM campaigns "
                             "WHERE name = 'temprana-web'")
    assert len(row) == 1
    mode, start, end, skills, retry, paused = row[0]
    assert (mode, start, end, json.loads(skills), paused) == ("progressive", "09:00", "19:30",
                                                              ["es", "segment:retail"], 1)
    assert json.loads(retry)["delay_seconds"]["busy"] == 20 * 60
    page.get_by_test_id("campaign-list").locator("tr", has_text="temprana-web").wait_for()
    page.fill("#f-name", "demo")  # the form now edits the new campaign: a second "demo" is refused
    page.click("#campaign-form button[type=submit]")
    page.get_by_test_id("campaign-error").filter(has_text="ya existe").wait_for()


def test_the_login_page_at_both_sizes(new_page: Any, live_server: LiveServer) -> None:
    page = new_page()
    page.goto(f"{live_server.url}/login.html")
    page.fill("#username", live_server.agent)
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    page.locator("#login-error").filter(has_text="incorrectos").wait_for()
    both_sizes(page, "login")
