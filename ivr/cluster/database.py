"""The cluster's PostgreSQL server (Debian's postgresql), kept under the cluster directory:
the service database `ivr` and Kamailio's `kamailio` (phone locations) live in it."""
from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

from ivr.asterisk.process import read_pid
from ivr.errors import IvrError
from ivr.testing.postgres import find_bin_dir

KAMAILIO_SCHEMA = Path("/usr/share/kamailio/postgres")


class DatabaseError(IvrError):
    error_id = "cluster-database-error"


def _as_server_user(argv: list[str], directory: Path) -> None:
    """PostgreSQL refuses to run as root: as root it runs as the `postgres` OS user."""
    command = ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv
    proc = subprocess.run(command, cwd=directory, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise DatabaseError(f"{Path(argv[0]).name} failed: {proc.stdout.strip()[-1500:]}")


def start_database(directory: Path, port: int) -> None:
    """Create the server's files on first use, then start it on 127.0.0.1:port (trust, loopback only)."""
    bin_dir = find_bin_dir()
    data = directory / "data"
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(directory, entry.pw_uid, entry.pw_gid)
    if not (data / "PG_VERSION").exists():
        _as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                         "-E", "UTF8", "--locale=C"], directory)
        (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n",
                                          encoding="utf-8")
    if (data / "postmaster.pid").exists() and database_pid(directory):
        return
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={directory}"
    _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(directory / "server.log"),
                     "-o", options, "-w", "-t", "60", "start"], directory)


def stop_database(directory: Path) -> None:
    if database_pid(directory) is None:
        return
    _as_server_user([str(find_bin_dir() / "pg_ctl"), "-D", str(directory / "data"), "-m", "fast", "-w",
                     "stop"], directory)


def database_pid(directory: Path) -> int | None:
    return read_pid(directory / "data" / "postmaster.pid")


async def create_databases(port: int) -> None:
    """The service's database `ivr` (its schema comes from the service's own migrations) and
    Kamailio's `kamailio` with the tables of the modules the edge loads; both kept when present."""
    import asyncpg

    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres", database="postgres")
    try:
        existing = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
        for name in ("ivr", "kamailio"):
            if name not in existing:
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres", database="kamailio")
    try:
        if await conn.fetchval("SELECT to_regclass('location') IS NULL"):
            for script in ("standard-create.sql", "usrloc-create.sql"):
                await conn.execute((KAMAILIO_SCHEMA / script).read_text(encoding="utf-8"))
    finally:
        await conn.close()


def kamailio_db_url(port: int) -> str:
    return f"postgres://postgres@127.0.0.1:{port}/kamailio"
