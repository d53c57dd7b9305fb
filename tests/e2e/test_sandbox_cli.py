"""`recobro asterisk sandbox up|status|down` as root, on an instance of its own and free ports."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from asterisk_config.render import ConfigParams
from asterisk_config.sandbox import Sandbox, SandboxError
from tests.e2e.conftest import RunningAsterisk, free_udp_port
from tests.services import free_port

pytestmark = pytest.mark.asterisk


@pytest.fixture
def cli_env(asterisk: RunningAsterisk, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    ports = {"ami": free_port(), "sip": free_udp_port(), "http": free_port()}
    monkeypatch.setenv("RECOBRO_ASTERISK_SANDBOX_DIR", str(asterisk.sandbox.base_dir))
    monkeypatch.setenv("RECOBRO_AMI_PORT", str(ports["ami"]))
    monkeypatch.setenv("RECOBRO_SIP_PORT", str(ports["sip"]))
    yield ports
    Sandbox(asterisk.sandbox.base_dir, "cli-test").stop()


def test_up_status_down(cli_env: dict[str, int]) -> None:
    from recobro.runtime.cli import _register, app

    _register()
    runner = CliRunner()
    up = runner.invoke(app, ["asterisk", "sandbox", "up", "--instance", "cli-test", "--http-port",
                             str(cli_env["http"])])
    assert up.exit_code == 0, up.output
    assert f"AMI 127.0.0.1:{cli_env['ami']}" in up.output
    with socket.create_connection(("127.0.0.1", cli_env["ami"]), timeout=2) as conn:
        assert conn.recv(64).startswith(b"Asterisk Call Manager")
    again = runner.invoke(app, ["asterisk", "sandbox", "up", "--instance", "cli-test"])
    assert again.exit_code == 0 and "ya corre" in again.output
    status = runner.invoke(app, ["asterisk", "sandbox", "status", "--instance", "cli-test", "--json"])
    assert status.exit_code == 0 and '"running": true' in status.output
    down = runner.invoke(app, ["asterisk", "sandbox", "down", "--instance", "cli-test"])
    assert down.exit_code == 0 and "detenido" in down.output
    status = runner.invoke(app, ["asterisk", "sandbox", "status", "--instance", "cli-test"])
    assert status.exit_code == 3 and "Corriendo / Running: no" in status.output


def test_a_taken_ami_port_is_a_clear_error(asterisk: RunningAsterisk) -> None:
    sandbox = Sandbox(asterisk.sandbox.base_dir, "port-clash")
    params = ConfigParams(ami_port=asterisk.params.ami_port, sip_bind="127.0.0.1", sip_port=free_udp_port(),
                          http_port=free_port())
    try:
        with pytest.raises(SandboxError, match="port in use"):
            sandbox.start(params)
        assert sandbox.pid() is None
    finally:
        sandbox.stop()
        sandbox.output_file.unlink(missing_ok=True)
