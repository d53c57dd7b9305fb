"""``recobro ivr`` as a process: prerenders, listens, serves an AGI call, stops on SIGINT."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ivr_agi_peer import FakeAsterisk
from tests.services import free_port


def _need_espeak() -> None:
    if shutil.which("espeak-ng") is None:
        if os.environ.get("RECOBRO_REQUIRE_SERVICES") == "1":
            pytest.fail("espeak-ng is not installed (Debian package espeak-ng)")
        pytest.skip("espeak-ng is not installed (Debian package espeak-ng)")


def _wait_line(proc: subprocess.Popen[str], needle: str, timeout: float = 60.0) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} not printed; got {lines}")


def test_recobro_ivr_serves_a_call_and_stops_cleanly(tmp_path: Path) -> None:
    _need_espeak()
    port = free_port()
    env = {**os.environ, "RECOBRO_DATA_DIR": str(tmp_path), "RECOBRO_AGI_PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "recobro.runtime.cli", "ivr"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _wait_line(proc, "agi://")
        assert any("Mensajes fijos listos / Fixed prompts ready" in line for line in lines)
        peer = FakeAsterisk(keys=[*"1#", *"2#", *"3#"])
        asyncio.run(asyncio.wait_for(peer.run("127.0.0.1", port, "inbound", caller_id="5599999999"), 20))
        assert peer.hung_up_by_script and len(peer.played) >= 4
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert "Detenido / Stopped. llamadas / calls: 1" in out
    with sqlite3.connect(tmp_path / "recobro.sqlite3") as db:
        outcomes = db.execute("SELECT value FROM ivr_events WHERE kind = 'outcome'").fetchall()
    assert outcomes == [("identification_failed",)]
    assert len(list((tmp_path / "prompts").glob("*.wav"))) >= 50
