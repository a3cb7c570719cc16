"""Opening the database: engine, sessions and migrations.

`open_database(url)` is the only way in. It brings the schema to the newest migration by itself,
so every command (service, CLI, web) works on a fresh database. SQLite runs in WAL mode with a busy
timeout so these processes can share one file; PostgreSQL is reached through asyncpg.
"""
from __future__ import annotations

import asyncio

from pathlib import Path
from types import TracebackType
from collections.abc import Callable
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from ivr.config import Settings
from ivr.store.errors import DatabaseUnavailable
from ivr.store.runner import TransactionRunner

T = TypeVar("T")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

SQLITE_LOCK_RETRIES = 10
URL_HINT = "use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DATABASE"

# Writers wait this long for another process's write to finish instead of failing at once.
SQLITE_BUSY_TIMEOUT_MS = 15_000

# Key of the PostgreSQL advisory lock that serialises migrations of processes starting together.
_PG_MIGRATION_LOCK = 0x1F0_5707E


class Database:
    """An open database: `engine`, `session` (an async_sessionmaker: `async with db.session() as s`),
    and `close()`. Also an async context manager that closes on exit."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self.session: async_sessionmaker[AsyncSession] = async_sessionmaker(engine, expire_on_commit=False)
        self._runner = TransactionRunner(engine, _sqlite_connect_args(), _sqlite_on_connect)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)`, plain synchronous SQLAlchemy, in one transaction: the cheap way for
        the statements every call makes (runner.py says why)."""
        return await self._runner.run(work)

    @property
    def dialect(self) -> str:
        """"sqlite" or "postgresql"."""
        return self.engine.dialect.name

    @property
    def url(self) -> str:
        """The URL with any password hidden, fit for logs."""
        return self.engine.url.render_as_string(hide_password=True)

    async def close(self) -> None:
        await self._runner.close()
        await self.engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def resolve_url(url: str, settings: Settings | None = None) -> URL:
    """Parse a database URL; a relative SQLite path is taken from the project root (`Settings.path`)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(f"database_url {url!r} is not a database URL; {URL_HINT}") from None
    if parsed.get_backend_name() != "sqlite" or _sqlite_in_memory(parsed):
        return parsed
    return parsed.set(database=str((settings or Settings()).path(parsed.database or "")))


async def open_database(url: str, settings: Settings | None = None) -> Database:
    """Open the database at `url` (creating a SQLite file and its directory) and upgrade its schema
    to the newest migration."""
    parsed = resolve_url(url, settings)
    shown = parsed.render_as_string(hide_password=True)
    try:
        engine = _create_engine(parsed)
    except (SQLAlchemyError, ImportError) as e:
        raise DatabaseUnavailable(f"database_url {shown}: {_reason(e)}; {URL_HINT}") from None
    opened = False
    try:
        if parsed.get_backend_name() == "sqlite" and parsed.database and not _sqlite_in_memory(parsed):
            _make_parent(Path(parsed.database))
        for attempt in range(SQLITE_LOCK_RETRIES + 1):
            try:
                async with engine.connect() as conn:
                    await conn.run_sync(_upgrade, alembic_config())
                    await conn.commit()
                break
            except OperationalError as e:
                # Turning a new SQLite file to WAL takes an exclusive lock that does not always wait
                # for the busy timeout: a process opening it at the same moment is told "locked".
                if "locked" not in str(e) or attempt == SQLITE_LOCK_RETRIES:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        opened = True
    except (SQLAlchemyError, OSError, CommandError) as e:
        raise DatabaseUnavailable(f"cannot open database {shown}: {_reason(e)}") from None
    finally:
        if not opened:
            await engine.dispose()
    return Database(engine)


def alembic_config(url: str = "") -> Config:
    """Alembic's configuration without an alembic.ini: migrations live inside the package.
    `url` is only for offline SQL scripts (`command.upgrade(config, "head", sql=True)`)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        # ConfigParser interpolation would choke on a "%" in a password.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _create_engine(url: URL) -> AsyncEngine:
    backend = url.get_backend_name()
    options: dict[str, Any] = {}
    if backend == "sqlite":
        options["connect_args"] = _sqlite_connect_args()
        if _sqlite_in_memory(url):
            options["poolclass"] = StaticPool  # one connection, or each one sees an empty database
    else:
        options["pool_pre_ping"] = True  # survive a database restart
    engine = create_async_engine(url, **options)
    if backend == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    return engine


def _sqlite_connect_args() -> dict[str, Any]:
    return {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching a fresh file to WAL needs a lock another process may hold.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _upgrade(connection: Connection, config: Config) -> None:
    # Two processes starting on a fresh database must not both create the tables:
    # the second waits for the first, then finds the schema at head.
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
    script = ScriptDirectory.from_config(config)
    current = _revisions(connection)
    unknown = current - {rev.revision for rev in script.walk_revisions()}
    if unknown:
        raise DatabaseUnavailable(
            f"the database schema (revision {', '.join(sorted(unknown))}) is newer than this program; update it"
        )
    # Checked first so an up-to-date database opens quietly and fast (Alembic logs each run).
    if current != set(script.get_heads()):
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def _revisions(connection: Connection) -> set[str]:
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return set(connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatabaseUnavailable(f"cannot create the database directory {path.parent}: {e.strerror}") from None


def _sqlite_in_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def _reason(error: BaseException) -> str:
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip()
    return text.splitlines()[0] if text else type(error).__name__
