"""Browser fixtures: Debian's Chromium driven by Playwright, against a real ``recobro serve``.

The browser is started once per session with a fresh profile directory and the flags that keep
it off the network (this machine has none: without them Chromium floods it with refused
connections). Playwright's own browser download cannot work here, so ``/usr/bin/chromium`` is
used; ``make test`` installs it (scripts/system-packages.sh).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import _wait_port as wait_port
from tests.services import free_port, missing_service

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "agent_desktop_api" / "web"
SHOTS = Path(__file__).resolve().parent / "screenshots"
SIZES = {"hd": (1366, 768), "fullhd": (1920, 1080)}


@pytest.fixture(scope="module")
def browser_context() -> Iterator[object]:
    """One Chromium with a fresh profile; each test opens its own pages (own sessionStorage).

    Module scope, not session: Playwright's sync API keeps an event loop running in this
    thread while it is open, and every asyncio test after the browser tests would fail with
    "Cannot run the event loop while another loop is running".
    """
    if not os.path.exists(CHROMIUM):
        missing_service("Chromium is not installed (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="recobro-chromium-")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1366, "height": 768},
            locale="es-MX",
            timezone_id="America/Mexico_City",
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


# Chromium logs every 4xx answer in the console; these are the API's refusals the pages show to
# the user (a wrong password, a rejected file, a conflict), which the tests check on the page.
EXPECTED_REFUSAL = re.compile(r"Failed to load resource: the server responded with a status of (401|403|409|422)\b")


@pytest.fixture
def new_page(browser_context: object) -> Iterator[object]:
    """Opens pages at a given size; fails the test on a JavaScript error or an error in the console."""
    from playwright.sync_api import BrowserContext, Page

    assert isinstance(browser_context, BrowserContext)
    pages: list[Page] = []
    errors: list[str] = []
    console: list[str] = []

    def open_page(size: str = "hd") -> Page:
        width, height = SIZES[size]
        page = browser_context.new_page()
        page.set_viewport_size({"width": width, "height": height})
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        page.on("console", lambda msg: msg.type == "error" and console.append(f"{page.url}: {msg.text}"))
        pages.append(page)
        return page

    open_page.errors = errors  # type: ignore[attr-defined]
    yield open_page
    for page in pages:
        page.close()
    assert not errors, f"JavaScript errors in the page: {errors}"
    unexpected = [line for line in console if not EXPECTED_REFUSAL.search(line)]
    assert not unexpected, f"errors in the browser's console: {unexpected}"


def shot(page: object, name: str) -> Path:
    """Saves a full-page screenshot under tests/browser/screenshots/ and returns its path."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def need_web_build() -> None:
    """The console loads uPlot from node_modules: ``make web`` (scripts/build-web.sh) installs it."""
    if not (WEB / "node_modules" / "uplot" / "dist" / "uPlot.esm.js").exists():
        pytest.fail("the pages' npm packages are missing: run `make web` (scripts/build-web.sh)")


@dataclass(frozen=True)
class StaticSite:
    url: str


@pytest.fixture(scope="session")
def static_site() -> Iterator[StaticSite]:
    """The pages served as plain files (no API): for what the pages do on their own."""
    need_web_build()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(WEB)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        yield StaticSite(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class FakeServerSocket:
    """Stands in for the server end of a page's websocket (Playwright's route_web_socket).

    Records what the page sends, lets the test send messages to the page and drop the
    connection; every (re)connection runs ``on_connect`` so a test can replay the live state
    as the real server does after a reconnect.
    """

    def __init__(self, on_connect: object = None) -> None:
        self.received: list[dict[str, object]] = []
        self.connections = 0
        self.on_connect = on_connect
        self.route: object = None

    def handler(self, ws: object) -> None:
        import json

        self.route = ws
        self.connections += 1
        ws.on_message(lambda raw: self.received.append(json.loads(raw)))  # type: ignore[attr-defined]
        if callable(self.on_connect):
            self.on_connect(self)

    def send(self, message: dict[str, object]) -> None:
        import json

        assert self.route is not None, "the page has not connected"
        self.route.send(json.dumps(message))  # type: ignore[attr-defined]

    def drop(self) -> None:
        assert self.route is not None
        self.route.close(code=1011, reason="test drop")  # type: ignore[attr-defined]

    def of_type(self, kind: str) -> list[dict[str, object]]:
        return [m for m in self.received if m.get("type") == kind]


@dataclass(frozen=True)
class LiveServer:
    """A running ``recobro serve`` on the simulated PBX, with its data directory and logins."""

    url: str
    data_dir: Path
    database: Path
    password: str
    agent: str  # a seeded agent no simulated agent drives: the browser's
    supervisor: str
    log: Path


def _recobro() -> str:
    beside = Path(sys.executable).with_name("recobro")
    return str(beside) if beside.exists() else (shutil.which("recobro") or "recobro")


LIVE_SIM_AGENTS = 8  # simulated agents sim01..sim08 keep the predictive engine busy
LIVE_SPEED = 20  # simulated seconds per real second
LIVE_RETRY = {"delay_seconds": {"busy": 120, "no_answer": 300, "machine": 300, "abandoned": 300, "failed": 300},
              "max_attempts_per_number": 50, "max_attempts_per_number_per_day": 20}
LIVE_SCRIPT = "Buenas tardes, ¿hablo con {debtor_name}? Le llamo de {company_name}: su saldo es de {balance}."


def more_accounts(path: Path, n: int) -> Path:
    """A list of ``n`` made-up Mexico City debtors (seeded: the same list every run)."""
    import random

    rng = random.Random(20261126)
    first = ["Ana", "Luis", "María", "José", "Carmen", "Jorge", "Lucía", "Pedro", "Sofía", "Miguel"]
    last = ["García", "López", "Martínez", "Hernández", "Pérez", "Sánchez", "Ramírez", "Torres", "Flores"]
    lines = ["external_ref,debtor_name,phone1,balance,due_date,segment"]
    for i in range(n):
        name = f"{rng.choice(first)} {rng.choice(last)} {rng.choice(last)}"
        lines.append(f"MX-T{i:06d},{name},55{rng.randrange(10**7, 10**8)},{rng.randrange(50_000, 5_000_000) / 100:.2f},"
                     f"2026-{rng.randrange(8, 11):02d}-{rng.randrange(1, 29):02d},temprana")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    """``recobro db upgrade``, ``demo seed``, the sample list imported, then ``recobro serve`` on a free port.

    One agent more than the simulated ones is seeded (same password): the browser logs in as it.
    Eight simulated agents give the predictive engine a floor to dial ahead of (the supervisor's
    test); 20x makes a call reach the browser's agent within seconds. The server is stopped with
    SIGINT, as Ctrl-C, so it hangs up and saves before it exits.
    """
    import secrets
    import signal

    need_web_build()
    data = Path(tempfile.mkdtemp(prefix="recobro-live-"))
    port = free_port()
    password = secrets.token_urlsafe(12)
    env = {
        **os.environ,
        "RECOBRO_DATA_DIR": str(data),
        "RECOBRO_DATABASE_URL": "",
        "RECOBRO_REDIS_URL": "",
        "RECOBRO_TELEPHONY": "sim",
        "RECOBRO_API_HOST": "127.0.0.1",
        "RECOBRO_API_PORT": str(port),
        "RECOBRO_AGI_PORT": str(free_port()),  # serve also runs the IVR's FastAGI server
        "RECOBRO_DEMO_PASSWORD": password,
        "RECOBRO_TOKEN_SECRET": secrets.token_urlsafe(32),
    }
    cli = _recobro()
    human = LIVE_SIM_AGENTS + 1
    extra = more_accounts(data / "more-accounts.csv", 1000)
    for args in (["db", "upgrade"], ["demo", "seed", "--sim-agents", str(human)],
                 ["import", "accounts", str(ROOT / "sample" / "accounts-demo.csv"), "--campaign", "demo"],
                 ["import", "accounts", str(extra), "--campaign", "demo"]):
        done = subprocess.run([cli, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, f"recobro {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    # At 20x a 60-second wrap-up is 3 real seconds: too short for a test (or a person) to type a
    # disposition. Short retry delays and a longer list keep the engine dialing for the whole
    # session (at 20x the sample list alone is spent in about two minutes). The demo's campaign
    # gets a script, so the screen pop has one to fill.
    with closing(sqlite3.connect(data / "recobro.sqlite3")) as db, db:
        db.execute("UPDATE campaigns SET wrap_up_limit_seconds = 3600, script = ?, retry = ? WHERE name = 'demo'",
                   (LIVE_SCRIPT, json.dumps(LIVE_RETRY)))
    log = data / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [cli, "serve", "--sim-agents", str(LIVE_SIM_AGENTS), "--speed", str(LIVE_SPEED)],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        try:
            wait_port(port, timeout=30.0)
        except Exception:
            raise AssertionError(f"recobro serve did not listen:\n{log.read_text()}") from None
        yield LiveServer(url=f"http://127.0.0.1:{port}", data_dir=data, database=data / "recobro.sqlite3",
                         password=password, agent=f"sim{human:02d}", supervisor="supervisor", log=log)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)
