"""``recobro demo seed`` and ``recobro serve`` as a newcomer runs them (``make demo``)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from argon2 import PasswordHasher
from typer.testing import CliRunner

from recobro.runtime import cli
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOBRO_")}
    env.update(RECOBRO_DATA_DIR=str(tmp_path / "var"), **extra)
    return env


def _db(tmp_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "var" / "recobro.sqlite3")


def test_demo_seed_is_idempotent_and_stores_argon2_hashes(tmp_path: Path) -> None:
    cli._register()
    runner = CliRunner()
    env = _env(tmp_path)
    first = runner.invoke(cli.app, ["demo", "seed", "--sim-agents", "4"], env=env)
    assert first.exit_code == 0, first.output
    assert "Supervisor creado" in first.output and "sim01..sim04" in first.output
    password = first.output.split("contraseña ")[1].split(" ")[0]
    second = runner.invoke(cli.app, ["demo", "seed", "--sim-agents", "4"], env=env)
    assert second.exit_code == 0, second.output
    assert "La campaña 'demo' ya existe" in second.output and "El supervisor 'supervisor' ya existe" in second.output
    assert password not in second.output  # shown once only
    with _db(tmp_path) as db:
        agents = db.execute("SELECT username, role, password_hash FROM agents ORDER BY username").fetchall()
        camp = db.execute("SELECT mode, paused, window_start, window_end, abandon_message FROM campaigns").fetchall()
        links = db.execute("SELECT count(*) FROM campaign_agents").fetchone()[0]
    assert [a[0] for a in agents] == ["sim01", "sim02", "sim03", "sim04", "supervisor"]
    assert agents[-1][1] == "supervisor"
    for _, _, hashed in agents:
        assert hashed.startswith("$argon2")
        assert PasswordHasher().verify(hashed, password)
    assert camp == [("predictive", 0, "00:00", "23:59", camp[0][4])]
    assert "Recobro Cobranza" in camp[0][4] and "+525555555555" in camp[0][4]
    assert links == 4


def test_serve_runs_says_where_to_look_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    agi_port = free_port()  # `serve` also runs the IVR's FastAGI server
    env = _env(tmp_path, RECOBRO_API_PORT=str(port), RECOBRO_AGI_PORT=str(agi_port),
               RECOBRO_DEMO_PASSWORD="serve-pass-1")
    subprocess.run([sys.executable, "-m", "recobro.runtime.cli", "demo", "seed", "--sim-agents", "3"],
                   env=env, cwd=ROOT, check=True, capture_output=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "recobro.runtime.cli", "serve", "--sim-agents", "3", "--speed", "20"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        health: dict[str, str] = {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not health:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as r:
                    health = json.loads(r.read())
            except OSError:
                time.sleep(0.2)
        assert health == {"status": "ok", "telephony": "sim"}
        login = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/auth/login", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"username": "supervisor", "password": "serve-pass-1"}).encode())
        with urllib.request.urlopen(login, timeout=5) as r:  # noqa: S310  # http to our own server
            token = json.loads(r.read())["token"]
        metrics_req = urllib.request.Request(f"http://127.0.0.1:{port}/api/campaigns/1/metrics",
                                             headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(metrics_req, timeout=2) as r:  # noqa: S310
            metrics = json.loads(r.read())
        assert metrics["name"] == "demo" and metrics["agents_logged_in"] == 3
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert f"http://127.0.0.1:{port}/" in out
    assert f"IVR (FastAGI): agi://127.0.0.1:{agi_port}/outbound" in out
    # No accounts were imported: serve says how to import the sample list, Spanish first.
    assert "La campaña no tiene cuentas" in out
    assert "recobro import accounts sample/accounts-demo.csv --campaign demo" in out
    assert "Detenido / Stopped" in out and "Traceback" not in out


def test_serve_without_the_campaign_says_how_to_create_it(tmp_path: Path) -> None:
    cli._register()
    port = free_port()
    result = CliRunner().invoke(cli.app, ["serve", "--sim-agents", "1"], env=_env(tmp_path, RECOBRO_API_PORT=str(port)))
    assert result.exit_code == 2
    assert "recobro demo seed" in result.output
