"""Text-to-speech engines behind one small interface.

The default is espeak-ng (Debian package; voices ``es-419`` and ``en-us``). A piper voice is a
plug-in where the ``piper`` program and a model are installed (no Spanish piper voice ships in
a package, so it is never the default). Engines write a WAV of whatever format they like; the
cache converts it to what Asterisk plays.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Protocol

ESPEAK_VOICES = {"es": "es-419", "en": "en-us"}


class TtsError(Exception):
    """The engine could not render a sentence (missing program, bad voice, crash)."""


class TtsEngine(Protocol):
    """Renders one sentence to a WAV file. ``name`` and the voice are part of the cache key."""

    name: str

    def voice_for(self, language: str) -> str: ...

    async def render(self, text: str, voice: str, out: Path) -> None: ...


async def _run(argv: list[str], text: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate(text.encode("utf-8"))
    if proc.returncode != 0:
        raise TtsError(f"{argv[0]} failed ({proc.returncode}): {err.decode(errors='replace').strip()[:200]}")


class EspeakEngine:
    """espeak-ng through its command line; the text goes on stdin, never on the command line."""

    name = "espeak-ng"

    def __init__(self, *, program: str = "espeak-ng", words_per_minute: int = 150) -> None:
        self._program = program
        self._wpm = words_per_minute

    @staticmethod
    def available(program: str = "espeak-ng") -> bool:
        return shutil.which(program) is not None

    def voice_for(self, language: str) -> str:
        return ESPEAK_VOICES.get(language[:2].lower(), ESPEAK_VOICES["es"])

    async def render(self, text: str, voice: str, out: Path) -> None:
        if shutil.which(self._program) is None:
            raise TtsError(f"{self._program} is not installed (Debian package espeak-ng)")
        await _run([self._program, "-v", voice, "-s", str(self._wpm), "-w", str(out), "--stdin"], text)


class PiperEngine:
    """A piper voice model per language (``{"en": Path("en_US-lessac-medium.onnx")}``)."""

    name = "piper"

    def __init__(self, models: dict[str, Path], *, program: str = "piper") -> None:
        self._models = models
        self._program = program

    def voice_for(self, language: str) -> str:
        model = self._models.get(language[:2].lower())
        if model is None:
            raise TtsError(f"no piper model for language {language!r}")
        return str(model)

    async def render(self, text: str, voice: str, out: Path) -> None:
        if shutil.which(self._program) is None:
            raise TtsError(f"{self._program} is not installed")
        await _run([self._program, "--model", voice, "--output_file", str(out)], text)
