"""sipp test phones: debtors (person, machine, busy, ring, reject) and agent softphones.

Each phone is one ``sipp`` UAS process (Debian's ``sip-tester``) on its own loopback port that
answers every call it gets the same way, so one process stands for any number of debtors of a
kind. Asterisk reaches phone ``p`` with ``p.dial_string(user)``:
``PJSIP/carrier/sip:<user>@127.0.0.1:<port>`` (the carrier endpoint with an explicit URI).

The audio is made at test time with espeak-ng and sox (nothing binary is committed): raw 8 kHz
mono G.711 u-law with real silence after the speech, because sipp's ``rtp_stream`` sends the
file as it is and a phone that stops sending RTP leaves AMD undecided.
"""

from __future__ import annotations

import contextlib
import csv
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

# kind -> (scenario file, extra sipp arguments); sipp checks status codes before substituting
# -key values, so each final response has its own scenario file.
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "person": ("person.xml", ()),
    "machine": ("machine.xml", ()),
    "busy": ("busy.xml", ()),
    "ring": ("ring.xml", ()),
    "reject": ("reject.xml", ()),
    "decline": ("decline.xml", ()),
    "agent": ("agent.xml", ()),
}
# name -> (espeak-ng text, sox effects after resampling to 8 kHz u-law)
_AUDIO: dict[str, tuple[str, tuple[str, ...]]] = {
    "person": ("¿Bueno?", ("pad", "0.3", "6")),
    "machine": (
        "Hola, por el momento no puedo contestar tu llamada. Por favor deja tu nombre, tu número "
        "y un breve mensaje después del tono, y te llamaré en cuanto pueda. Gracias, que tengas un "
        "excelente día. Hola, por el momento no puedo contestar tu llamada.",
        ("trim", "0", "12", "pad", "0.2", "4"),
    ),
    "agent": ("Buenas tardes, le atiende el área de cobranza.", ("pad", "0", "1")),
}


class PhoneError(RuntimeError):
    """A phone could not be made or started; Spanish first, then English."""


def missing_tools() -> str | None:
    for tool, package in (("sipp", "sip-tester"), ("espeak-ng", "espeak-ng"), ("sox", "sox")):
        if shutil.which(tool) is None:
            return f"Falta {tool} (apt-get install {package}) / Missing {tool} (apt-get install {package})"
    return None


def make_audio(audio_dir: Path) -> Path:
    """Make the phones' audio files (once; kept for the next run) and return the directory."""
    audio_dir.mkdir(parents=True, exist_ok=True)
    for name, (text, effects) in _AUDIO.items():
        target = audio_dir / f"{name}.ulaw"
        if target.is_file() and target.stat().st_size > 0:
            continue
        raw = audio_dir / f"{name}.espeak.wav"
        partial = audio_dir / f"{name}.ulaw.partial"
        _run(["espeak-ng", "-v", "es-419", "-w", str(raw), text])
        _run(["sox", str(raw), "-r", "8000", "-c", "1", "-t", "ul", str(partial), *effects])
        raw.unlink()
        partial.rename(target)
    return audio_dir


def audio_seconds(path: Path) -> float:
    """Length of a raw 8 kHz G.711 file (one byte per sample)."""
    return path.stat().st_size / 8000


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SippPhone:
    """One running sipp UAS standing for every phone of one kind."""

    kind: str
    port: int
    media_port: int
    process: subprocess.Popen[bytes]
    stats_file: Path
    log_file: Path
    host: str = "127.0.0.1"
    _stopped: bool = field(default=False, repr=False)

    def uri(self, user: str) -> str:
        return f"sip:{user}@{self.host}:{self.port}"

    def dial_string(self, user: str, endpoint: str = "carrier") -> str:
        """What Asterisk dials to reach this phone as number ``user``."""
        return f"PJSIP/{endpoint}/{self.uri(user)}"

    def running(self) -> bool:
        return self.process.poll() is None

    def counts(self) -> dict[str, int]:
        """sipp's cumulative counters (calls, successful, failed) from its statistics file."""
        try:
            with self.stats_file.open(encoding="utf-8", errors="replace") as handle:
                rows = list(csv.reader(handle, delimiter=";"))
        except OSError:
            return {}
        if len(rows) < 2:
            return {}
        header, last = rows[0], rows[-1]
        wanted = {"TotalCallCreated": "calls", "SuccessfulCall(C)": "successful", "FailedCall(C)": "failed"}
        return {wanted[name]: int(last[i]) for i, name in enumerate(header) if name in wanted and i < len(last)}

    def stop(self, timeout: float = 5.0) -> int:
        """Soft exit (SIGUSR1 lets calls in progress finish), then a kill. Returns sipp's exit code."""
        if not self._stopped and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGUSR1)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5.0)
        self._stopped = True
        return int(self.process.returncode)


def start_phone(kind: str, audio_dir: Path, work_dir: Path, *, answer_delay_ms: int = 1000,
                port: int | None = None) -> SippPhone:
    """Start one sipp phone of ``kind`` on a free loopback port and wait until it listens."""
    if kind not in KINDS:
        raise PhoneError(f"Tipo de teléfono desconocido / unknown phone kind: {kind!r} ({', '.join(KINDS)})")
    reason = missing_tools()
    if reason is not None:
        raise PhoneError(reason)
    scenario_name, extra = KINDS[kind]
    scenario = resources.files("asterisk_config").joinpath("phones", scenario_name)
    work_dir.mkdir(parents=True, exist_ok=True)
    sip_port = port or free_udp_port()
    media_port = free_udp_port()
    stats_file = work_dir / f"{kind}-{sip_port}.csv"
    log_file = work_dir / f"{kind}-{sip_port}.log"
    cmd = [
        "sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", str(sip_port),
        "-mp", str(media_port), "-d", str(answer_delay_ms), "-nostdin", "-trace_err",
        "-error_file", str(log_file), "-trace_stat", "-stf", str(stats_file), "-fd", "1", *extra,
    ]
    with open(work_dir / f"{kind}-{sip_port}.out", "wb") as out:
        process = subprocess.Popen(cmd, cwd=audio_dir, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT)
    phone = SippPhone(kind, sip_port, media_port, process, stats_file, log_file)
    _wait_listening(phone)
    return phone


@contextlib.contextmanager
def phones(kinds: Sequence[str], audio_dir: Path, work_dir: Path, *,
           answer_delay_ms: int = 1000) -> Iterator[list[SippPhone]]:
    """Start one sipp phone per entry of ``kinds`` (repeats allowed: N phones of a kind), each on
    a free port, with the audio made first; stop them all afterwards."""
    make_audio(audio_dir)
    started: list[SippPhone] = []
    try:
        for kind in kinds:
            started.append(start_phone(kind, audio_dir, work_dir, answer_delay_ms=answer_delay_ms))
        yield started
    finally:
        for phone in started:
            phone.stop()


def _wait_listening(phone: SippPhone, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if phone.process.poll() is not None:
            raise PhoneError(f"sipp ({phone.kind}) terminó al arrancar / exited at start, code "
                             f"{phone.process.returncode}; see {phone.log_file}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", phone.port))
            except OSError:
                return  # the port is taken: sipp is listening on it
        time.sleep(0.02)
    phone.stop()
    raise PhoneError(f"sipp ({phone.kind}) no escucha en {phone.port} / is not listening")


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise PhoneError(f"{cmd[0]} falló / failed: {result.stderr.strip()[-500:]}")
