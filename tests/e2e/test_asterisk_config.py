"""The rendered configuration, loaded into the real Asterisk: modules and dialplan are all there."""

from __future__ import annotations

import re

import pytest

from asterisk_config.render import render_config
from tests.e2e.conftest import RunningAsterisk

pytestmark = pytest.mark.asterisk

# Applications and functions the rendered dialplan calls -> the module that provides each.
_PROVIDERS = {
    "AMD": "app_amd.so",
    "BridgeWait": "app_bridgewait.so",
    "ConfBridge": "app_confbridge.so",
    "Playback": "app_playback.so",
    "UserEvent": "app_userevent.so",
    "AGI": "res_agi.so",
    "CONFBRIDGE_INFO": "app_confbridge.so",
    "FILTER": "func_strings.so",
    "CUT": "func_cut.so",
    "CHANNEL": "func_channel.so",
}
_BUILTIN = {"NoOp", "GotoIf", "Goto", "Hangup", "Answer", "Set", "SayDigits"}


def _dialplan_names(extensions: str) -> tuple[set[str], set[str]]:
    """(applications, functions) used by the dialplan text."""
    apps = set(re.findall(r"^\s*(?:exten => [^,]+,\s*\w+|same => n(?:\(\w+\))?),(\w+)\(", extensions, re.M))
    funcs = set(re.findall(r"\$\{([A-Z_]+)\(", extensions))
    return apps, funcs


def test_every_module_the_dialplan_uses_is_loaded(asterisk: RunningAsterisk) -> None:
    extensions = render_config(asterisk.params)["extensions.conf"]
    apps, funcs = _dialplan_names(extensions)
    assert {"AMD", "BridgeWait", "ConfBridge", "Playback", "UserEvent", "AGI"} <= apps
    unknown = (apps | funcs) - set(_PROVIDERS) - _BUILTIN
    assert not unknown, f"add these to _PROVIDERS and modules.conf: {unknown}"
    modules = asterisk.rx("module show")
    for name in sorted(apps | funcs):
        if name in _BUILTIN:
            continue
        line = next((ln for ln in modules.splitlines() if ln.startswith(_PROVIDERS[name] + " ")), "")
        assert "Running" in line, f"{name}: {_PROVIDERS[name]} is not running:\n{line or 'absent'}"
    for app in sorted(apps):
        assert "-= Info about Application" in asterisk.rx(f"core show application {app}"), app
    for func in sorted(funcs):
        assert "-= Info about Function" in asterisk.rx(f"core show function {func}"), func


def test_every_module_listed_in_modules_conf_is_running(asterisk: RunningAsterisk) -> None:
    wanted = re.findall(r"^load = (\S+)", render_config(asterisk.params)["modules.conf"], re.M)
    running = {ln.split()[0] for ln in asterisk.rx("module show").splitlines() if " Running " in ln}
    assert set(wanted) - running == set()


def test_dialplan_show_has_every_context(asterisk: RunningAsterisk) -> None:
    extensions = render_config(asterisk.params)["extensions.conf"]
    contexts = set(re.findall(r"^\[([\w-]+)\]", extensions, re.M)) - {"general", "globals"}
    assert {
        "recobro-outbound",
        "recobro-agent",
        "recobro-connect",
        "recobro-abandon",
        "recobro-ivr",
        "recobro-inbound",
        "recobro-test-outbound",
    } <= contexts
    shown = asterisk.rx("dialplan show")
    for context in sorted(contexts):
        assert f"[ Context '{context}' created by 'pbx_config' ]" in shown, context


def test_pjsip_manager_and_startup_are_as_rendered(asterisk: RunningAsterisk) -> None:
    endpoints = asterisk.rx("pjsip show endpoints")
    assert "carrier" in endpoints and "agent-phones" in endpoints
    assert f"127.0.0.1:{asterisk.params.sip_port}" in asterisk.rx("pjsip show transports")
    settings = asterisk.rx("manager show settings")
    assert re.search(r"Timestamp events:\s+Yes", settings), settings
    assert f"TCP Bindaddress:           127.0.0.1:{asterisk.params.ami_port}" in settings, settings
    assert "RECOBRO_CALL_ID" in settings
    user = asterisk.rx(f"manager show user {asterisk.params.ami_user}")
    assert "127.0.0.1" in user
    # A quiet start: nothing above NOTICE in Asterisk's own output while booting.
    noisy = [ln for ln in asterisk.sandbox.output_tail(500).splitlines() if "ERROR[" in ln or "WARNING[" in ln]
    assert noisy == []
