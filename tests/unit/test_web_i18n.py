"""Every text key the pages use exists in Spanish and in English (agent_desktop_api/web)."""

from __future__ import annotations

import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "agent_desktop_api" / "web"


def dictionaries() -> dict[str, set[str]]:
    source = (WEB / "js" / "i18n.js").read_text(encoding="utf-8")
    es_block = source.split("  es: {", 1)[1].split("\n  },", 1)[0]
    en_block = source.split("  en: {", 1)[1].split("\n  },", 1)[0]
    key = re.compile(r'^\s+"([a-z0-9_.]+)":', re.M)
    return {"es": set(key.findall(es_block)), "en": set(key.findall(en_block))}


def used_keys() -> set[str]:
    keys: set[str] = set()
    for html in WEB.glob("*.html"):
        keys |= set(re.findall(r'data-i18n(?:-placeholder|-title)?="([a-z0-9_.]+)"', html.read_text(encoding="utf-8")))
    for js in (WEB / "js").glob("*.js"):
        text = js.read_text(encoding="utf-8")
        keys |= set(re.findall(r'\bt\("([a-z0-9_.]+)"', text))
        keys |= set(re.findall(r'"([a-z0-9_]+\.[a-z0-9_.]+)"', text)) & dictionaries()["es"]
    return keys


def test_the_dictionaries_have_the_same_keys_except_the_brand() -> None:
    d = dictionaries()
    assert len(d["es"]) > 150
    assert d["es"] - d["en"] == {"app.name"}, "an English text is missing"
    assert not d["en"] - d["es"], "a text exists only in English"


def test_every_key_the_pages_use_is_translated() -> None:
    d = dictionaries()
    missing = sorted(k for k in used_keys() if k not in d["es"])
    assert not missing, f"keys used by the pages but not in i18n.js: {missing}"


def test_dynamic_keys_cover_every_state_code_and_reason() -> None:
    """Keys built at run time (state.X, disp.X, reason.X, mode.X) exist for every domain value."""
    from recobro.domain.campaigns import CampaignMode, RetryOutcome
    from recobro.domain.dispositions import DispositionCode, PromiseStatus

    d = dictionaries()["es"]
    for code in DispositionCode:
        assert f"disp.{code.value}" in d
    for mode in CampaignMode:
        assert f"mode.{mode.value}" in d
    for status in PromiseStatus:
        assert f"promise.{status.value}" in d
    for outcome in RetryOutcome:
        assert f"retry.{outcome.value}" in d
    for state in ("logged_out", "ready", "reserved", "on_call", "wrap_up", "paused"):
        assert f"state.{state}" in d
    for reason in ("break", "lunch", "training", "meeting", "technical"):
        assert f"reason.{reason}" in d
