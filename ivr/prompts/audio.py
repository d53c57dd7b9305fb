"""Audio conversion and checks with pydub: what Asterisk plays is 8 kHz mono 16-bit signed WAV.

pydub warns on import (the stdlib ``audioop`` is deprecated on 3.11-3.12; no ffmpeg is needed
for WAV); the warnings are silenced here, at the one place pydub is imported.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

RATE = 8000
CHANNELS = 1
SAMPLE_WIDTH = 2  # bytes: 16-bit signed linear


@dataclass(frozen=True, slots=True)
class AudioInfo:
    duration: float  # seconds
    dbfs: float  # mean loudness; -inf for digital silence
    peak_dbfs: float
    rate: int
    channels: int
    sample_width: int

    @property
    def telephone_ready(self) -> bool:
        return (self.rate, self.channels, self.sample_width) == (RATE, CHANNELS, SAMPLE_WIDTH)


def _load(path: Path) -> AudioSegment:
    with path.open("rb") as f:
        return AudioSegment.from_wav(f)


def to_telephone_wav(source: Path, target: Path) -> None:
    """Convert any WAV to 8 kHz mono 16-bit, written to ``target``."""
    segment = _load(source)
    segment = segment.set_channels(CHANNELS).set_frame_rate(RATE).set_sample_width(SAMPLE_WIDTH)
    with target.open("wb") as out:  # pydub leaves files it opens itself unclosed
        segment.export(out, format="wav")


def inspect_audio(path: Path) -> AudioInfo:
    """Duration, loudness and format of a WAV file (for tests and the benchmark)."""
    segment = _load(path)
    return AudioInfo(
        duration=len(segment) / 1000.0,
        dbfs=float(segment.dBFS),
        peak_dbfs=float(segment.max_dBFS),
        rate=int(segment.frame_rate),
        channels=int(segment.channels),
        sample_width=int(segment.sample_width),
    )
