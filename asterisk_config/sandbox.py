"""A real Asterisk for development and tests, in a cached Debian sid chroot.

Debian ships ``asterisk`` only in unstable, so the sandbox makes a ``debootstrap --variant=minbase
sid`` chroot once (under ``<data_dir>/asterisk-sandbox/root``), installs Asterisk and its
Spanish and English prompts into it, and runs ``chroot ROOT asterisk -f -C …`` with the
project's rendered configuration. The chroot shares the host's network, so AMI, SIP and RTP are
on the host's loopback. Several named instances (own config, run, log and db directories, own
ports) can run side by side on one installation — a test session and a developer's sandbox.

Everything here needs root (debootstrap, chroot); :class:`SandboxError` says so in Spanish and
English otherwise.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from asterisk_config.render import AsteriskPaths, ConfigParams, write_config

DEBIAN_MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("asterisk", "asterisk-core-sounds-es-gsm", "asterisk-core-sounds-en-gsm")
_MARKER = ".recobro-installed"


class SandboxError(RuntimeError):
    """The sandbox cannot do what was asked; the message is Spanish first, then English."""


@dataclass(frozen=True, slots=True)
class InstallTimes:
    debootstrap: float
    packages: float
    version: str


@dataclass(frozen=True, slots=True)
class SandboxStatus:
    installed: bool
    running: bool
    pid: int | None
    version: str
    instance: str
    root: Path
    detail: str = ""


def missing_requirements() -> str | None:
    """Why the sandbox cannot run here (Spanish / English), or None."""
    if os.geteuid() != 0:
        return "El sandbox de Asterisk necesita root (debootstrap, chroot) / The Asterisk sandbox needs root"
    for tool in ("debootstrap", "chroot"):
        if shutil.which(tool) is None:
            return f"Falta el programa {tool} (apt-get install {tool}) / Missing program {tool}"
    return None


class Sandbox:
    """One installation (``base_dir/root``) and one named Asterisk instance running from it."""

    def __init__(self, base_dir: Path, instance: str = "default", *, mirror: str | None = None) -> None:
        self.base_dir = base_dir.resolve()
        self.root = self.base_dir / "root"
        self.instance = instance
        self.mirror = mirror or os.environ.get("RECOBRO_DEBIAN_MIRROR", DEBIAN_MIRROR)
        self._pid_file = self.base_dir / f"{instance}.pid"
        self.output_file = self.base_dir / f"{instance}.out"

    # --- installation ---------------------------------------------------------------------------

    @property
    def installed(self) -> bool:
        return (self.root / _MARKER).is_file()

    def install(self, log: Callable[[str], None] = lambda _m: None) -> InstallTimes | None:
        """Make the chroot and install Asterisk, once; None when it was already there.

        A lock file makes concurrent test sessions wait for one installation; a half-made chroot
        (killed debootstrap) is thrown away and made again.
        """
        self._require_root()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        with _locked(self.base_dir / "install.lock"):
            if self.installed:
                return None
            partial = self.base_dir / "root.partial"
            if partial.exists():
                shutil.rmtree(partial)
            if self.root.exists():
                shutil.rmtree(self.root)
            log(f"debootstrap --variant=minbase sid {partial} ({self.mirror})")
            started = time.monotonic()
            _run(["debootstrap", "--variant=minbase", "sid", str(partial), self.mirror], timeout=1800)
            boot_s = time.monotonic() - started
            log(f"apt-get install {' '.join(PACKAGES)}")
            started = time.monotonic()
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            apt = ["chroot", str(partial), "apt-get", "-q", "-o", "Acquire::Check-Valid-Until=false"]
            _run([*apt, "update"], timeout=900, env=env)
            _run([*apt, "install", "-y", "--no-install-recommends", *PACKAGES], timeout=1800, env=env)
            _run([*apt, "clean"], timeout=300, env=env)
            packages_s = time.monotonic() - started
            sounds = partial / "usr/share/asterisk/sounds"
            if not (sounds / "es").exists() and (sounds / "es_MX_f_Allison").is_dir():
                (sounds / "es").symlink_to("es_MX_f_Allison")  # language "es" finds the Mexican prompts
            version = _run(["chroot", str(partial), "asterisk", "-V"], timeout=30).strip()
            (partial / _MARKER).write_text(f"{version}\n", encoding="utf-8")
            partial.rename(self.root)
            log(f"{version}: debootstrap {boot_s:.0f} s, paquetes/packages {packages_s:.0f} s")
            return InstallTimes(debootstrap=boot_s, packages=packages_s, version=version)

    def version(self) -> str:
        if not self.installed:
            return ""
        return (self.root / _MARKER).read_text(encoding="utf-8").strip()

    def paths(self) -> AsteriskPaths:
        """This instance's directories as Asterisk sees them (inside the chroot)."""
        found = sorted(self.root.glob("usr/lib/*/asterisk/modules"))
        module_dir = "/" + str(found[0].relative_to(self.root)) if found else AsteriskPaths().module_dir
        return AsteriskPaths.instance(self.instance, module_dir)

    # --- running --------------------------------------------------------------------------------

    @property
    def config_path(self) -> str:
        """asterisk.conf of this instance, as seen inside the chroot."""
        return f"{self.paths().etc_dir}/asterisk.conf"

    def configure(self, params: ConfigParams) -> ConfigParams:
        """Render ``params`` (with this instance's directories) into the chroot."""
        params = replace(params, paths=self.paths())
        for directory in (params.paths.db_dir, params.paths.run_dir, params.paths.log_dir,
                          params.paths.spool_dir, params.paths.cache_dir):
            (self.root / directory.lstrip("/")).mkdir(parents=True, exist_ok=True)
        etc = self.root / params.paths.etc_dir.lstrip("/")
        if etc.exists():
            shutil.rmtree(etc)
        write_config(params, etc)
        return params

    def start(self, params: ConfigParams, *, boot_timeout: float = 60.0) -> float:
        """Configure and start this instance; returns once Asterisk is fully booted (seconds taken)."""
        self._require_root()
        if not self.installed:
            raise SandboxError("Asterisk no está instalado: use 'recobro asterisk sandbox up' / "
                               "Asterisk is not installed: run 'recobro asterisk sandbox up'")
        if self.pid() is not None:
            raise SandboxError(f"La instancia '{self.instance}' ya está corriendo / "
                               f"Instance '{self.instance}' is already running")
        self.configure(params)
        started = time.monotonic()
        self.output_file.write_bytes(b"")
        # Started from a throw-away shell, so Asterisk is nobody's child here: it outlives
        # `recobro asterisk sandbox up`, and init reaps it. setsid: its own session, no terminal.
        launcher = subprocess.run(
            ["sh", "-c", 'setsid chroot "$1" asterisk -f -C "$2" </dev/null >>"$3" 2>&1 & echo $!',
             "sh", str(self.root), self.config_path, str(self.output_file)],
            capture_output=True, text=True, timeout=10, check=True,
        )
        pid = int(launcher.stdout.strip())
        self._pid_file.write_text(str(pid), encoding="ascii")
        deadline = started + boot_timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                self._pid_file.unlink(missing_ok=True)
                raise SandboxError(
                    f"Asterisk terminó al arrancar / Asterisk exited while starting:\n{self.output_tail()}"
                )
            result = self._rx_raw("core waitfullybooted", timeout=max(1.0, deadline - time.monotonic()))
            if result.returncode == 0 and "fully booted" in result.stdout.lower():
                booted = time.monotonic() - started
                self._check_ami(params)
                return booted
            time.sleep(0.1)
        self.stop()
        raise SandboxError(f"Asterisk no terminó de arrancar en {boot_timeout:.0f} s / "
                           f"Asterisk did not finish booting in {boot_timeout:.0f} s:\n{self.output_tail()}")

    def _check_ami(self, params: ConfigParams) -> None:
        """Asterisk boots even when its AMI port is taken; say so instead of failing later."""
        pid = self.pid()
        if pid is None or not _listens(pid, params.ami_port):
            self.stop()
            raise SandboxError(
                f"AMI no escucha en {params.ami_bind}:{params.ami_port} (¿puerto ocupado?) / "
                f"AMI is not listening on {params.ami_bind}:{params.ami_port} (port in use?)"
            )

    def stop(self, timeout: float = 20.0) -> bool:
        """Stop this instance cleanly (``core stop now``, then signals). False if it was not running."""
        pid = self.pid()
        if pid is None:
            self._pid_file.unlink(missing_ok=True)
            return False
        self._rx_raw("core stop now", timeout=5.0)
        if not _wait_gone(pid, timeout / 2):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, timeout / 2):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, 5.0)
        self._pid_file.unlink(missing_ok=True)
        return True

    def pid(self) -> int | None:
        """The running Asterisk of this instance, checked against /proc (a stale pid file is ignored)."""
        try:
            pid = int(self._pid_file.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
        except OSError:
            return None
        if b"asterisk" not in cmdline[0] or self.config_path.encode() not in cmdline:
            return None
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return None
        return pid

    def rx(self, command: str, timeout: float = 15.0) -> str:
        """Run one CLI command in this instance (``asterisk -rx``) and return its output."""
        result = self._rx_raw(command, timeout=timeout)
        if result.returncode != 0:
            raise SandboxError(f"asterisk -rx {command!r} falló / failed: {result.stdout}{result.stderr}")
        return result.stdout

    def status(self) -> SandboxStatus:
        pid = self.pid()
        detail = ""
        if pid is not None:
            result = self._rx_raw("core show uptime", timeout=5.0)
            detail = result.stdout.strip()
        return SandboxStatus(self.installed, pid is not None, pid, self.version(), self.instance, self.root, detail)

    def log_file(self) -> Path:
        return self.root / self.paths().log_dir.lstrip("/") / "messages.log"

    def output_tail(self, lines: int = 30) -> str:
        try:
            text = self.output_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _rx_raw(self, command: str, timeout: float) -> subprocess.CompletedProcess[str]:
        if "\n" in command or "\r" in command:
            raise SandboxError("Comando con salto de línea / Command with a line break")
        try:
            return subprocess.run(
                ["chroot", str(self.root), "asterisk", "-C", self.config_path, "-rx", command],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            return subprocess.CompletedProcess(exc.cmd, 124, "", f"timeout after {timeout} s")

    def _require_root(self) -> None:
        reason = missing_requirements()
        if reason is not None:
            raise SandboxError(reason)


def _run(cmd: list[str], *, timeout: float, env: dict[str, str] | None = None) -> str:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SandboxError(f"{cmd[0]}: se agotó el tiempo ({timeout:.0f} s) / timed out") from exc
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise SandboxError(f"{' '.join(cmd[:4])}… falló / failed ({result.returncode}):\n{tail}")
    return result.stdout


def _listens(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds a listening TCP socket on ``port`` (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table, encoding="ascii") as handle:
            for line in handle.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    fd_dir = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(OSError):
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return True
    return False


def _alive(pid: int) -> bool:
    """Running (a zombie has exited and only waits for init to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
