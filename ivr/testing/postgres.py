"""A throwaway PostgreSQL server for tests, from Debian's postgresql package.

    with postgres_server() as server:
        url = await create_database(server.url)   # a fresh, empty database

The cluster lives in a temporary directory, listens on a free port of 127.0.0.1 only with trust
authentication, and is stopped and deleted on exit. PostgreSQL refuses to run as root, so as root
it runs as the `postgres` OS user (created by the package).
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ivr.errors import IvrError

INSTALL_HINT = "install Debian's PostgreSQL server: apt-get install -y postgresql"
SEARCH_DIRS = ("/usr/lib/postgresql",)
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # where `python -m ivr...` finds the package


class PostgresUnavailable(IvrError):
    """The PostgreSQL server could not be found or started."""

    error_id = "postgres-unavailable"


@dataclass(frozen=True)
class PostgresServer:
    port: int
    directory: Path
    user: str = "postgres"

    @property
    def url(self) -> str:
        """asyncpg URL of the `postgres` maintenance database."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{name}"


def find_bin_dir() -> Path:
    """Directory with initdb and pg_ctl: $IVR_PG_BIN, else the newest /usr/lib/postgresql/N/bin."""
    explicit = os.environ.get("IVR_PG_BIN")
    candidates = [Path(explicit)] if explicit else sorted(
        (p / "bin" for d in SEARCH_DIRS if Path(d).is_dir() for p in Path(d).iterdir() if p.name.isdigit()),
        key=lambda p: int(p.parent.name), reverse=True,
    )
    for bin_dir in candidates:
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            return bin_dir
    where = explicit or " or ".join(f"{d}/N/bin" for d in SEARCH_DIRS)
    raise PostgresUnavailable(f"PostgreSQL server binaries (initdb, pg_ctl) not found in {where}; {INSTALL_HINT}")


@contextmanager
def postgres_server(bin_dir: Path | None = None, start_timeout: int = 60) -> Iterator[PostgresServer]:
    """Start a fresh cluster; stop it and delete its files on exit."""
    bin_dir = bin_dir or find_bin_dir()
    as_user = _run_as()
    directory = Path(tempfile.mkdtemp(prefix="ivr-pg-"))
    # The guard stops the server and deletes its files once its stdin closes: when this block
    # ends, and also when the test run is killed, so no cluster outlives the tests.
    guard = subprocess.Popen(
        [sys.executable, "-m", "ivr.testing.postgres", "guard", str(bin_dir), str(directory), as_user or ""],
        cwd=PACKAGE_ROOT, stdin=subprocess.PIPE, start_new_session=True,
    )
    try:
        if as_user is not None:
            entry = pwd.getpwnam(as_user)
            os.chown(directory, entry.pw_uid, entry.pw_gid)
        data = directory / "data"
        _run(as_user, directory, [
            str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        ])
        # Only TCP on the loopback address and the private socket directory may connect.
        (data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 trust\n", encoding="utf-8"
        )
        port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={directory} "
            # A test database needs no durability.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = directory / "server.log"
        try:
            _run(as_user, directory, [
                str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
                "-w", "-t", str(start_timeout), "start",
            ])
        except PostgresUnavailable as e:
            raise PostgresUnavailable(f"{e.message}\n{_tail(log)}") from None
        yield PostgresServer(port=port, directory=directory)
    finally:
        assert guard.stdin is not None
        guard.stdin.close()
        guard.wait(timeout=start_timeout)


def _guard(bin_dir: Path, directory: Path, as_user: str | None) -> None:
    """Wait for the test process to finish or die, then stop its server and delete the cluster."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the test run; we clean up after it
    sys.stdin.buffer.read()
    data = directory / "data"
    try:
        if (data / "postmaster.pid").exists():
            _run(as_user, directory, [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
    except PostgresUnavailable as e:
        print(f"ivr.testing.postgres: {e.message}", file=sys.stderr)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def create_database(server_url: str, name: str | None = None) -> str:
    """Create an empty database on the server of `server_url`; returns its SQLAlchemy URL."""
    import asyncpg  # only the PostgreSQL tests need it
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    name = name or f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database,
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


def _run_as() -> str | None:
    """The OS user to run the server as: `postgres` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(f"running as root needs the `postgres` OS user; {INSTALL_HINT}") from None
    return "postgres"


def _run(as_user: str | None, cwd: Path, argv: Sequence[str]) -> None:
    command = ["runuser", "-u", as_user, "--", *argv] if as_user else list(argv)
    try:
        # Output goes to a file, not a pipe: the server started by pg_ctl would keep a pipe open.
        with tempfile.TemporaryFile() as out:
            result = subprocess.run(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, check=False)
            out.seek(0)
            output = out.read().decode(errors="replace").strip()
    except OSError as e:
        raise PostgresUnavailable(f"cannot run {argv[0]}: {e.strerror}") from None
    if result.returncode != 0:
        raise PostgresUnavailable(f"{Path(argv[0]).name} failed (exit {result.returncode}): {output}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no server log at {path})"


if __name__ == "__main__" and sys.argv[1:2] == ["guard"]:
    _guard(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] or None)
