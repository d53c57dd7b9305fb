"""Rendering Asterisk's configuration: every value checked, nothing left unfilled."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from asterisk_config import values
from asterisk_config.render import (
    CONFIG_FILES,
    DEFAULT_AMI_SECRET,
    AgentEndpoint,
    AsteriskPaths,
    ConfigParams,
    params_from_settings,
    render_config,
    write_config,
)
from asterisk_config.sandbox import Sandbox, missing_requirements
from recobro.domain.errors import ValidationError
from recobro.runtime.settings import Settings


def test_defaults_render_every_file_with_no_placeholder_left() -> None:
    rendered = render_config(ConfigParams())
    assert set(rendered) == set(CONFIG_FILES)
    for name, body in rendered.items():
        assert "{{" not in body and "}}" not in body.replace("})}", ""), name
    assert "recobro-test-outbound" not in rendered["extensions.conf"]
    assert "recobro-test-outbound" in render_config(ConfigParams(test_contexts=True))["extensions.conf"]


def test_settings_reach_the_files() -> None:
    settings = Settings(ami_port=6038, ami_user="dialer", ami_secret="s3cret-value", agi_host="10.0.0.5",
                        agi_port=4600, sip_port=5080, carrier_host="sbc.example.net:5062",
                        company_name="Cobranza Ágil", callback_number="+52 55 1234 5678".replace(" ", ""))
    files = render_config(params_from_settings(settings))
    assert re.search(r"^port = 6038$", files["manager.conf"], re.M)
    assert re.search(r"^\[dialer\]\nsecret = s3cret-value$", files["manager.conf"], re.M)
    assert "bindaddr = 127.0.0.1" in files["manager.conf"]
    assert "timestampevents = yes" in files["manager.conf"]
    assert "bind = 0.0.0.0:5080" in files["pjsip.conf"]
    assert "contact = sip:sbc.example.net:5062" in files["pjsip.conf"]
    assert "match = sbc.example.net" in files["pjsip.conf"]
    assert "AGI(agi://10.0.0.5:4600/" in files["extensions.conf"]
    assert "RECOBRO_COMPANY = Cobranza Ágil" in files["extensions.conf"]
    assert "RECOBRO_CALLBACK = 525512345678" in files["extensions.conf"]
    assert "enable = no" in files["cdr.conf"]


def _context(extensions: str, name: str) -> list[str]:
    """The lines of one dialplan context (up to the next context or the end)."""
    body = extensions.split(f"[{name}]\n", 1)[1]
    return re.split(r"^\[", body, maxsplit=1, flags=re.M)[0].strip().splitlines()


def test_the_ivr_context_runs_amd_before_the_agi_and_reports_it() -> None:
    files = render_config(ConfigParams(agi_host="127.0.0.1", agi_port=4600))
    lines = _context(files["extensions.conf"], "recobro-ivr")

    def at(text: str) -> int:
        return next(i for i, ln in enumerate(lines) if text in ln)

    assert at('GotoIf($["${RECOBRO_AMD}" = "0"]?flow)') < at(",AMD()") < at("UserEvent(RecobroAmd,")
    assert at("UserEvent(RecobroAmd,") < at("n(flow),") < at("AGI(")  # the script reads AMDSTATUS
    assert "Status: ${AMDSTATUS},Cause: ${AMDCAUSE}" in lines[at("UserEvent(RecobroAmd,")]
    assert [ln for ln in lines if "AGI(" in ln] == [
        " same => n,AGI(agi://127.0.0.1:4600/${RECOBRO_IVR_FLOW})",
        " same => n(default),AGI(agi://127.0.0.1:4600/outbound)",  # a script the IVR serves
    ]
    assert re.search(r"^load = app_dial\.so$", files["modules.conf"], re.M)  # EXEC Dial (--agent-dial)
    assert re.search(r"^load = app_amd\.so$", files["modules.conf"], re.M)


def test_ami_is_loopback_only_unless_a_network_is_given() -> None:
    loopback = render_config(ConfigParams())["manager.conf"]
    assert "permit = 127.0.0.1/255.255.255.255" in loopback
    everywhere = render_config(ConfigParams(ami_bind="0.0.0.0"))["manager.conf"]
    assert "permit = 127.0.0.1/255.255.255.255" in everywhere
    lan = render_config(ConfigParams(ami_bind="0.0.0.0", ami_permit="10.1.2.0/24"))["manager.conf"]
    assert "permit = 10.1.2.0/255.255.255.0" in lan
    # a host name in the settings is where the platform connects, not a bind address
    assert params_from_settings(Settings(ami_host="pbx.internal")).ami_bind == "127.0.0.1"


def test_production_refuses_the_default_ami_secret() -> None:
    with pytest.raises(ValidationError) as err:
        render_config(ConfigParams(production=True, ami_secret=DEFAULT_AMI_SECRET))
    assert err.value.field == "ami_secret"
    render_config(ConfigParams(production=True, ami_secret="a-real-long-secret"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("company_name", "Acme\r\n[evil]"),
        ("company_name", "Acme; comment"),
        ("company_name", "Acme ${SHELL(id)}"),
        ("company_name", ""),
        ("ami_secret", "secret\nread=all"),
        ("ami_secret", "short"),
        ("ami_secret", "has space inside"),
        ("ami_user", "recobro\n[admin]"),
        ("ami_user", "a]b"),
        ("carrier_host", "10.0.0.1\r\ncontact=sip:evil"),
        ("carrier_host", "host:notaport"),
        ("agi_host", "x/../y"),
        ("callback_number", "55-1234"),
        ("language", "es\n"),
        ("ami_permit", "not-a-network"),
    ],
)
def test_a_bad_value_is_refused_before_anything_is_rendered(field: str, value: str) -> None:
    params = ConfigParams(**{field: value})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        render_config(params)


@pytest.mark.parametrize(("field", "value"), [("ami_port", 0), ("sip_port", 70000), ("hold_seconds", 0)])
def test_numbers_out_of_range_are_refused(field: str, value: int) -> None:
    with pytest.raises(ValidationError):
        render_config(ConfigParams(**{field: value}))  # type: ignore[arg-type]


def test_paths_must_be_plain_absolute_paths() -> None:
    with pytest.raises(ValidationError):
        render_config(ConfigParams(paths=AsteriskPaths(etc_dir="etc/asterisk")))
    with pytest.raises(ValidationError):
        render_config(ConfigParams(paths=AsteriskPaths(log_dir="/var/log/../../root")))
    body = render_config(ConfigParams(paths=AsteriskPaths.instance("test-1", "/usr/lib/mods")))["asterisk.conf"]
    assert "astetcdir => /etc/recobro/test-1" in body and "astmoddir => /usr/lib/mods" in body
    assert "[directories]\n" in body  # not a template "(!)": Asterisk would ignore the paths


def test_agent_endpoints_are_checked_and_rendered() -> None:
    pjsip = render_config(ConfigParams(agents=(AgentEndpoint("1001", "pass-1001"),)))["pjsip.conf"]
    assert "[agent-1001](agent-endpoint)" in pjsip and "password = pass-1001" in pjsip
    with pytest.raises(ValidationError):
        render_config(ConfigParams(agents=(AgentEndpoint("10a", "pass-1001"),)))
    with pytest.raises(ValidationError):
        render_config(ConfigParams(agents=(AgentEndpoint("1", "pass-0001"), AgentEndpoint("1", "pass-0002"))))
    with pytest.raises(ValidationError):
        render_config(ConfigParams(agents=(AgentEndpoint("1", "pass\n[x]"),)))


def test_sound_names_refuse_paths_out_of_the_sounds_directory() -> None:
    assert values.sound("recobro/abandon-es", field="m") == "recobro/abandon-es"
    for bad in ("../../etc/passwd", "/etc/passwd", "a,b", "a b", ""):
        with pytest.raises(ValidationError):
            values.sound(bad, field="m")


def test_write_config_keeps_the_secret_private(tmp_path: Path) -> None:
    written = write_config(ConfigParams(), tmp_path / "out")
    assert {p.name for p in written} == set(CONFIG_FILES)
    assert stat.S_IMODE((tmp_path / "out" / "manager.conf").stat().st_mode) == 0o600


def test_cli_config_writes_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from recobro.runtime.cli import _register, app

    _register()
    monkeypatch.setenv("RECOBRO_COMPANY_NAME", "Financiera Núñez")
    result = CliRunner().invoke(app, ["asterisk", "config", "--out", str(tmp_path), "--agent", "7:agent-pass-7"])
    assert result.exit_code == 0, result.output
    assert "RECOBRO_COMPANY = Financiera Núñez" in (tmp_path / "extensions.conf").read_text(encoding="utf-8")
    assert "[agent-7](agent-endpoint)" in (tmp_path / "pjsip.conf").read_text(encoding="utf-8")
    monkeypatch.setenv("RECOBRO_COMPANY_NAME", "Evil\nName")
    bad = CliRunner().invoke(app, ["asterisk", "config", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2
    assert not (tmp_path / "bad").exists()


def test_sandbox_says_it_needs_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    reason = missing_requirements()
    assert reason is not None and "root" in reason
    sandbox = Sandbox(tmp_path, "x")
    with pytest.raises(RuntimeError, match="root"):
        sandbox.install()
    assert not sandbox.installed


def test_a_stale_pid_file_is_not_a_running_asterisk(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, "x")
    (tmp_path / "x.pid").write_text("1", encoding="ascii")  # pid 1 is not our Asterisk
    assert sandbox.pid() is None
    assert sandbox.status().running is False
    assert sandbox.stop() is False
    assert not (tmp_path / "x.pid").exists()
