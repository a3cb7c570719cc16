"""Start, stop and query one Asterisk instance whose files all live under one directory.

The bundled Asterisk comes from a Debian sid root filesystem (scripts/asterisk-rootfs.sh). Its
binaries need sid's glibc, so they run through the tree's own dynamic loader with the tree's
libraries, while every path Asterisk uses (config, spool, AGI scripts, sounds) stays a host path.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ivr.errors import IvrError

LIB_DIRS = ("usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu")


class AsteriskError(IvrError):
    error_id = "asterisk-error"


@dataclass(frozen=True)
class Instance:
    """Where one Asterisk keeps its files: root/etc, root/run, root/spool, root/log, root/lib."""

    name: str
    root: Path
    rootfs: Path | None          # bundled root filesystem, or None for a system-installed Asterisk

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def conf(self) -> Path:
        return self.etc / "asterisk.conf"

    @property
    def pidfile(self) -> Path:
        return self.root / "asterisk.pid"

    @property
    def logfile(self) -> Path:
        return self.root / "log" / "console.log"

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    def dirs(self) -> dict[str, Path]:
        return {d: self.root / d for d in ("etc", "run", "spool", "log", "lib", "db")}

    def binary(self) -> list[str]:
        if self.rootfs is None:
            return ["asterisk"]
        libs = ":".join(str(self.rootfs / d) for d in LIB_DIRS)
        return [str(self.rootfs / "lib64/ld-linux-x86-64.so.2"), "--library-path", libs,
                str(self.rootfs / "usr/sbin/asterisk")]

    def command(self, *args: str) -> list[str]:
        return [*self.binary(), "-C", str(self.conf), *args]

    # ----- queries -----

    def pid(self) -> int | None:
        return read_pid(self.pidfile)

    def running(self) -> bool:
        return self.pid() is not None

    def cli(self, command: str, timeout: float = 10.0) -> str:
        """Run one CLI command on the running instance (asterisk -rx)."""
        proc = subprocess.run(self.command("-rx", command), capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0:
            raise AsteriskError(f"asterisk {self.name}: '{command}' failed: {proc.stderr.strip()}")
        return proc.stdout

    # ----- lifecycle -----

    def start(self, timeout: float = 30.0) -> int:
        """Start in the background (own session, survives its parent) and wait until fully booted."""
        if (pid := self.pid()) is not None:
            return pid
        for d in self.dirs().values():
            d.mkdir(parents=True, exist_ok=True)
        log = open(self.logfile, "ab")
        proc = subprocess.Popen(self.command("-f", "-n"), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, cwd=self.root)
        self.pidfile.write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AsteriskError(f"asterisk {self.name} exited with {proc.returncode}; "
                                    f"see {self.logfile}")
            try:
                self.cli("core waitfullybooted", timeout=5)   # returns once booted
                return proc.pid
            except (AsteriskError, subprocess.TimeoutExpired):
                time.sleep(0.2)
        self.stop()
        raise AsteriskError(f"asterisk {self.name} did not boot in {timeout:.0f} s; see {self.logfile}")

    def reload(self) -> None:
        self.cli("core reload")

    def stop(self, timeout: float = 10.0) -> None:
        pid = self.pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return
        try:
            self.cli("core stop now", timeout=timeout)
        except (AsteriskError, subprocess.TimeoutExpired):
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.1)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pidfile.unlink(missing_ok=True)

    def kill(self) -> None:
        """Die like a crash: no clean shutdown (tests of reconnect)."""
        if (pid := self.pid()) is not None:
            os.kill(pid, signal.SIGKILL)
            while alive(pid):
                time.sleep(0.05)
        self.pidfile.unlink(missing_ok=True)


def read_pid(pidfile: Path) -> int | None:
    """The pid in a pid file when that process is alive."""
    try:
        pid = int(pidfile.read_text().split()[0])   # PostgreSQL's has more lines after it
        # a killed child nobody waited for yet is a zombie: dead all the same
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    return None if state == "Z" else pid


def terminate(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL to the whole session (it was started in its own) if still there."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.1)
    if alive(pid):
        os.killpg(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
