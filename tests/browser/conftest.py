"""Browser fixtures: Debian's Chromium driven by Playwright, against a real ``recobro serve``.

The browser is started once per session with a fresh profile directory and the flags that keep
it off the network (this machine has none: without them Chromium floods it with refused
connections). Playwright's own browser download cannot work here, so ``/usr/bin/chromium`` is
used; ``make test`` installs it (scripts/system-packages.sh).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def browser_context() -> Iterator[object]:
    """One Chromium with a fresh profile; each test opens its own pages (own sessionStorage)."""
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


@pytest.fixture
def new_page(browser_context: object) -> Iterator[object]:
    """Opens pages at a given size; collects console errors and closes the pages afterwards."""
    from playwright.sync_api import BrowserContext, Page

    assert isinstance(browser_context, BrowserContext)
    pages: list[Page] = []
    errors: list[str] = []

    def open_page(size: str = "hd") -> Page:
        width, height = SIZES[size]
        page = browser_context.new_page()
        page.set_viewport_size({"width": width, "height": height})
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        pages.append(page)
        return page

    open_page.errors = errors  # type: ignore[attr-defined]
    yield open_page
    for page in pages:
        page.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def shot(page: object, name: str) -> Path:
    """Saves a full-page screenshot under tests/browser/screenshots/ and returns its path."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


@dataclass(frozen=True)
class StaticSite:
    url: str


@pytest.fixture(scope="session")
def static_site() -> Iterator[StaticSite]:
    """The pages served as plain files (no API): for what the pages do on their own."""
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
