"""A real Asterisk for the end-to-end tests: one sandbox instance per test session.

The chroot is installed once and cached (``var/asterisk-sandbox`` or
RECOBRO_ASTERISK_SANDBOX_DIR), so only the first session on a machine pays for debootstrap and
apt. Each session runs its own instance (``test-<pid>``) on free loopback ports, so a developer's
``recobro asterisk sandbox up`` and a test run do not collide. Not root: the tests skip saying
why. Root under ``make test`` (RECOBRO_REQUIRE_SERVICES=1): anything missing is a failure.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from asterisk_config import phones
from asterisk_config.render import ConfigParams
from asterisk_config.sandbox import Sandbox, SandboxError, missing_requirements
from tests.e2e.ami_probe import AmiProbe
from tests.services import free_port

REPO = Path(__file__).resolve().parents[2]


def sandbox_base() -> Path:
    given = os.environ.get("RECOBRO_ASTERISK_SANDBOX_DIR")
    return Path(given) if given else REPO / "var" / "asterisk-sandbox"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def asterisk_unavailable(reason: str) -> None:
    """Skip, except as root under `make test`, where the sandbox is supposed to work."""
    if os.geteuid() == 0 and os.environ.get("RECOBRO_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (make test runs the Asterisk tests as root)")
    pytest.skip(reason)


@dataclass(frozen=True)
class RunningAsterisk:
    """What a test needs to reach the sandbox: the CLI (``rx``) and the AMI address."""

    sandbox: Sandbox
    params: ConfigParams
    boot_seconds: float

    @property
    def ami_address(self) -> tuple[str, int]:
        return self.params.ami_bind, self.params.ami_port

    def rx(self, command: str, timeout: float = 15.0) -> str:
        return self.sandbox.rx(command, timeout=timeout)


def _stop_orphans(base: Path) -> None:
    """Instances left by test sessions that were killed (their pytest process is gone)."""
    for pid_file in base.glob("test-*.pid"):
        match = re.fullmatch(r"test-(\d+)\.pid", pid_file.name)
        if match is None or Path(f"/proc/{match.group(1)}").exists():
            continue
        Sandbox(base, pid_file.stem).stop()


@pytest.fixture(scope="session")
def asterisk() -> Iterator[RunningAsterisk]:
    if os.geteuid() != 0:
        pytest.skip("Asterisk en chroot necesita root / the Asterisk sandbox needs root")
    reason = missing_requirements()
    if reason is not None:
        asterisk_unavailable(reason)
    base = sandbox_base()
    sandbox = Sandbox(base, f"test-{os.getpid()}")
    try:
        sandbox.install()
    except SandboxError as exc:
        asterisk_unavailable(f"No se pudo instalar Asterisk / could not install Asterisk: {exc}")
    _stop_orphans(base)
    params = ConfigParams(
        ami_port=free_port(),
        sip_bind="127.0.0.1",
        sip_port=free_udp_port(),
        http_port=free_port(),
        agi_port=free_port(),  # tests that need FastAGI listen here
        hold_seconds=20,
        callback_number="+1234",  # the spoken fallback of the abandon message stays short
        test_contexts=True,
    )
    try:
        boot = sandbox.start(params)
    except SandboxError as exc:
        pytest.fail(f"Asterisk did not start: {exc}")
    try:
        yield RunningAsterisk(sandbox, params, boot)
    finally:
        sandbox.stop()
        sandbox.output_file.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def sipp_phones(
    asterisk: RunningAsterisk, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, phones.SippPhone]]:
    """One sipp phone of every kind (person, machine, busy, ring, reject, decline, agent)."""
    reason = phones.missing_tools()
    if reason is not None:
        asterisk_unavailable(reason)
    audio = REPO / "var" / "sipp-audio"
    with phones.phones(list(phones.KINDS), audio, tmp_path_factory.mktemp("sipp")) as started:
        yield {phone.kind: phone for phone in started}


@pytest.fixture
def ami(asterisk: RunningAsterisk) -> Iterator[AmiProbe]:
    """A raw AMI connection to the session's Asterisk that records every event."""
    host, port = asterisk.ami_address
    with AmiProbe(host, port, asterisk.params.ami_user, asterisk.params.ami_secret) as probe:
        yield probe
