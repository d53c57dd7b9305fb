"""The prompt cache: a sentence is rendered once per (engine, voice, text), then played from disk.

Files live under ``<data_dir>/prompts/<hash>.wav`` in the format Asterisk plays; ``STREAM FILE``
takes the path without its extension. Renders are written to a temporary name and renamed, so a
crash never leaves half a file under the final name; two calls asking for the same new sentence
at once share one render.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import tempfile
from collections import OrderedDict
from pathlib import Path

from ivr.prompts.audio import to_telephone_wav
from ivr.prompts.catalog import Prompt, fixed_prompts
from ivr.prompts.tts import TtsEngine

log = logging.getLogger(__name__)

_REMEMBERED = 5000  # sentences whose text is kept in memory (for logs and tests), newest kept


def cache_key(text: str, voice: str, engine: str) -> str:
    return hashlib.sha256(f"{engine}\x00{voice}\x00{text}".encode()).hexdigest()[:40]


class PromptCache:
    def __init__(self, directory: Path, engine: TtsEngine, *, pbx_directory: str | None = None) -> None:
        self.directory = directory
        self.engine = engine
        # where Asterisk sees ``directory`` (another path when it runs in a chroot or container)
        self.pbx_directory = pbx_directory or str(directory.resolve())
        self._inflight: dict[str, asyncio.Future[Path]] = {}
        self._texts: OrderedDict[str, str] = OrderedDict()
        self.renders = 0
        self.hits = 0

    def path_for(self, text: str, language: str) -> Path:
        voice = self.engine.voice_for(language)
        return self.directory / f"{cache_key(text, voice, self.engine.name)}.wav"

    def pbx_name(self, path: Path) -> str:
        """The name ``STREAM FILE`` takes for a cached file: the PBX's path, no extension."""
        return f"{self.pbx_directory.rstrip('/')}/{path.stem}"

    def text_of(self, path: str | Path) -> str | None:
        """The sentence a cached file says (``STREAM FILE`` name or full path), if remembered."""
        return self._texts.get(Path(path).with_suffix("").name)

    async def get(self, prompt: Prompt) -> Path:
        """The WAV file saying ``prompt``; rendered now unless it already is on disk."""
        path = self.path_for(prompt.text, prompt.language)
        self._remember(path.stem, prompt.text)
        if path.exists():
            self.hits += 1
            return path
        pending = self._inflight.get(path.stem)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Path] = asyncio.get_running_loop().create_future()
        self._inflight[path.stem] = future
        try:
            await self._render(prompt, path)
            future.set_result(path)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waits
            raise
        finally:
            del self._inflight[path.stem]
        return path

    async def _render(self, prompt: Prompt, path: Path) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        voice = self.engine.voice_for(prompt.language)
        fd, raw_name = tempfile.mkstemp(suffix=".raw.wav", dir=self.directory)
        os.close(fd)
        raw = Path(raw_name)
        tmp = path.with_suffix(".tmp.wav")
        try:
            await self.engine.render(prompt.text, voice, raw)
            await asyncio.to_thread(to_telephone_wav, raw, tmp)
            os.replace(tmp, path)
            self.renders += 1
            log.debug("rendered prompt %s (%s) to %s", prompt.key, prompt.language, path.name)
        finally:
            raw.unlink(missing_ok=True)
            tmp.unlink(missing_ok=True)

    def _remember(self, stem: str, text: str) -> None:
        self._texts[stem] = text
        self._texts.move_to_end(stem)
        while len(self._texts) > _REMEMBERED:
            self._texts.popitem(last=False)

    async def prerender_fixed(self) -> int:
        """Render every fixed prompt of the catalog (setup); returns how many were new."""
        before = self.renders
        for p in fixed_prompts():
            await self.get(p)
        return self.renders - before
