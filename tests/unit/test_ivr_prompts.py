"""Every rendered prompt is real telephone audio, rendered once, cached by text+voice+engine."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ivr.prompts.audio import inspect_audio
from ivr.prompts.cache import PromptCache, cache_key
from ivr.prompts.catalog import TEXTS, Prompt, fixed_prompts, prompt
from ivr.prompts.tts import EspeakEngine, TtsError
from ivr.prompts.words import amount_words, date_words


def _need(program: str) -> None:
    if shutil.which(program) is None:
        if os.environ.get("RECOBRO_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{program} is not installed (Debian package)")
        pytest.skip(f"{program} is not installed (Debian package)")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[PromptCache, list[tuple[Prompt, Path]]]:
    """Every prompt of the catalog in both languages, the personalized ones with sample words."""
    _need("espeak-ng")
    cache = PromptCache(tmp_path_factory.mktemp("prompts"), EspeakEngine())
    samples = {
        "company": "Recobro Cobranza",
        "name": "María Pérez",
        "number": "cinco, cinco, uno",
        "limit": "el cinco de diciembre",
        "wait": "dos minutos",
        "when": "el cinco de diciembre a las nueve",
    }

    async def render_all() -> list[tuple[Prompt, Path]]:
        out = []
        await cache.prerender_fixed()
        for key in TEXTS:
            for lang in ("es", "en"):
                words = dict(samples)
                words["amount"] = amount_words(Decimal("1234.50"), "MXN", lang)
                words["due"] = words["date"] = date_words(date(2026, 11, 5), lang)
                needed = {k: v for k, v in words.items() if "{" + k + "}" in TEXTS[key][lang]}
                p = prompt(key, lang, **needed)
                out.append((p, await cache.get(p)))
        return out

    return cache, asyncio.run(render_all())


def test_every_prompt_is_telephone_audio_with_speech(rendered: tuple[PromptCache, list[tuple[Prompt, Path]]]) -> None:
    _, items = rendered
    assert len(items) == 2 * len(TEXTS)
    for p, path in items:
        info = inspect_audio(path)
        assert info.telephone_ready, (p.key, info)
        # espeak-ng speaks ~2.5 words a second at 150 wpm: a sentence lasts about that long
        words = len(p.text.split())
        assert info.duration > 0.2 * words, (p.key, p.language, info.duration)
        assert info.dbfs > -35.0, (p.key, p.language, info.dbfs)  # not silence
        assert info.peak_dbfs > -12.0, (p.key, p.language, info.peak_dbfs)


def test_sox_agrees_it_is_speech(rendered: tuple[PromptCache, list[tuple[Prompt, Path]]]) -> None:
    _need("sox")
    _, items = rendered
    for p, path in items[:6]:
        out = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True, check=True).stderr
        stats = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines()) if v}
        assert float(stats["Length (seconds)"]) > 1.0, p.key
        assert float(stats["RMS     amplitude"]) > 0.02, p.key
        assert int(stats["Samples read"]) == round(float(stats["Length (seconds)"]) * 8000), p.key


def test_fixed_prompts_are_cached_and_a_second_get_is_a_hit(
    rendered: tuple[PromptCache, list[tuple[Prompt, Path]]],
) -> None:
    cache, _ = rendered
    renders = cache.renders
    p = fixed_prompts()[0]
    path = asyncio.run(cache.get(p))
    assert cache.renders == renders
    assert cache.text_of(path.with_suffix("")) == p.text


def test_cache_key_depends_on_text_voice_and_engine() -> None:
    base = cache_key("hola", "es-419", "espeak-ng")
    assert base != cache_key("hola.", "es-419", "espeak-ng")
    assert base != cache_key("hola", "en-us", "espeak-ng")
    assert base != cache_key("hola", "es-419", "piper")
    assert base == cache_key("hola", "es-419", "espeak-ng")


class _CountingEngine:
    name = "counting"

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def voice_for(self, language: str) -> str:
        return language

    async def render(self, text: str, voice: str, out: Path) -> None:
        self.calls += 1
        await asyncio.sleep(0.05)
        if self.fail:
            out.write_bytes(b"half a file")
            raise TtsError("engine crashed")
        await EspeakEngine().render(text, "es-419", out)


def test_concurrent_requests_for_a_new_sentence_render_once(tmp_path: Path) -> None:
    _need("espeak-ng")
    engine = _CountingEngine()
    cache = PromptCache(tmp_path, engine)
    p = prompt("inbound_welcome", "es", company="Cobranza Uno")

    async def many() -> set[Path]:
        return set(await asyncio.gather(*(cache.get(p) for _ in range(5))))

    paths = asyncio.run(many())
    assert len(paths) == 1 and engine.calls == 1
    assert inspect_audio(paths.pop()).telephone_ready


def test_a_failed_render_leaves_nothing_behind(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, _CountingEngine(fail=True))
    with pytest.raises(TtsError):
        asyncio.run(cache.get(prompt("menu", "es")))
    assert list(tmp_path.iterdir()) == []


def test_missing_program_is_a_clear_error(tmp_path: Path) -> None:
    engine = EspeakEngine(program="no-such-espeak")
    with pytest.raises(TtsError, match="not installed"):
        asyncio.run(engine.render("hola", "es-419", tmp_path / "x.wav"))
