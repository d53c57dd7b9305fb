"""Real PostgreSQL and Redis servers for the tests, started on free loopback ports.

Uses Debian's binaries (``postgresql``, ``redis-server``), installed by ``make test``. When a
URL is given in ``RECOBRO_TEST_POSTGRES_URL`` / ``RECOBRO_TEST_REDIS_URL`` that server is used
instead. Without the binaries the tests that need them skip and say why, except under
``make test`` (``RECOBRO_REQUIRE_SERVICES=1``), where a missing service is a failure.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def missing_service(reason: str) -> None:
    if os.environ.get("RECOBRO_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (make test installs it: scripts/system-packages.sh needs root)")
    pytest.skip(reason)


def _pg_bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    given = os.environ.get("RECOBRO_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bindir = _pg_bindir()
    if bindir is None:
        missing_service("PostgreSQL is not installed (Debian package postgresql)")
    assert bindir is not None
    as_user: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="recobro-pg-"))
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: run it as the package's own user.
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            missing_service("running as root and there is no 'postgres' user to run PostgreSQL as")
            raise
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = tmp / "data"
    subprocess.run(
        [*as_user, f"{bindir}/initdb", "-D", str(data), "-U", "recobro", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*as_user, f"{bindir}/pg_ctl", "-D", str(data), "-w", "-l", str(tmp / "log"), "-o",
         f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
        check=True,
        capture_output=True,
    )
    try:
        _wait_port(port)
        subprocess.run(
            [f"{bindir}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "recobro", "-d", "postgres",
             "-c", "CREATE DATABASE recobro_test"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+asyncpg://recobro@127.0.0.1:{port}/recobro_test"
    finally:
        subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    given = os.environ.get("RECOBRO_TEST_REDIS_URL")
    if given:
        yield given
        return
    server = shutil.which("redis-server")
    if server is None:
        missing_service("Redis is not installed (Debian package redis-server)")
    assert server is not None
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="recobro-redis-"))
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
