"""TTS benchmark: render time per prompt (cache miss), cache-hit time, fixed-prompt setup time.

Prints one JSON object. Renders into a fresh temporary cache with espeak-ng (es-419, en-us):
every fixed prompt of the catalog (setup), then personalized sentences (balance, promise
confirmation) that a call renders on a cache miss, then the same sentences again (hits).

    .venv/bin/python bench/tts.py [--personalized 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from ivr.prompts.audio import inspect_audio
from ivr.prompts.cache import PromptCache
from ivr.prompts.catalog import Prompt, fixed_prompts, prompt
from ivr.prompts.tts import EspeakEngine
from ivr.prompts.words import amount_words, date_words


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(values),
        "mean_ms": round(statistics.fmean(values) * 1000, 3),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 3),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


def _personalized(n: int) -> list[Prompt]:
    out = []
    for i in range(n):
        lang = "es" if i % 2 == 0 else "en"
        amount = Decimal(137 * (i + 1)) + Decimal("0.25")
        due = date(2026, 11, 1) + timedelta(days=i % 28)
        words = amount_words(amount, "MXN", lang)
        out.append(prompt("balance", lang, amount=words, due=date_words(due, lang)))
        out.append(prompt("promise_confirm", lang, amount=words, date=date_words(due + timedelta(days=9), lang)))
    return out


async def run(personalized: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="recobro-tts-") as tmp:
        cache = PromptCache(Path(tmp), EspeakEngine())
        started = time.perf_counter()
        await cache.prerender_fixed()
        setup = time.perf_counter() - started
        fixed = fixed_prompts()
        prompts = _personalized(personalized)
        miss: list[float] = []
        audio_seconds = 0.0
        for p in prompts:
            t = time.perf_counter()
            path = await cache.get(p)
            miss.append(time.perf_counter() - t)
            audio_seconds += inspect_audio(path).duration
        hit: list[float] = []
        for p in [*prompts, *fixed]:
            t = time.perf_counter()
            await cache.get(p)
            hit.append(time.perf_counter() - t)
        return {
            "engine": cache.engine.name,
            "fixed_prompts": len(fixed),
            "fixed_setup_s": round(setup, 3),
            "render_miss": _ms(miss),
            "render_realtime_factor": round(sum(miss) / audio_seconds, 4),
            "cache_hit": _ms(hit),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--personalized", type=int, default=40, help="personalized sentence pairs to render")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.personalized)), indent=2))


if __name__ == "__main__":
    main()
