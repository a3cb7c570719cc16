"""Opening the database: engine, sessions and migrations.

`open_database(url)` is the only way in. It brings the schema to the newest migration by itself,
so every command (service, CLI, web) works on a fresh database. SQLite runs in WAL mode with a busy
timeout so these processes can share one file; PostgreSQL is reached through asyncpg.
"""
from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from ivr.config import Settings
from ivr.store.errors import DatabaseUnavailable

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

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

    @property
    def dialect(self) -> str:
        """"sqlite" or "postgresql"."""
        return self.engine.dialect.name

    @property
    def url(self) -> str:
        """The URL with any password hidden, fit for logs."""
        return self.engine.url.render_as_string(hide_password=True)

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def resolve_url(url: str, settings: Settings | None = None) -> URL:
    """Parse a database URL; a relative SQLite path is taken from the project root
    (`Settings.path`) and its directory is created."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(f"database_url {url!r} is not a database URL") from None
    if parsed.get_backend_name() != "sqlite" or _sqlite_in_memory(parsed):
        return parsed
    path = (settings or Settings()).path(parsed.database or "")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatabaseUnavailable(f"cannot create the database directory {path.parent}: {e.strerror}") from None
    return parsed.set(database=str(path))


async def open_database(url: str, settings: Settings | None = None) -> Database:
    """Open the database at `url` and upgrade its schema to the newest migration."""
    parsed = resolve_url(url, settings)
    shown = parsed.render_as_string(hide_password=True)
    try:
        engine = _create_engine(parsed)
    except (ArgumentError, ImportError) as e:
        raise DatabaseUnavailable(f"database_url {shown}: {e}") from None
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_upgrade, alembic_config(shown))
            await conn.commit()
    except (SQLAlchemyError, OSError) as e:
        await engine.dispose()
        raise DatabaseUnavailable(f"cannot open database {shown}: {_reason(e)}") from None
    return Database(engine)


def alembic_config(url: str = "") -> Config:
    """Alembic's configuration without an alembic.ini: migrations live inside the package."""
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
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        if _sqlite_in_memory(url):
            options["poolclass"] = StaticPool  # one connection, or each one sees an empty database
    else:
        options["pool_pre_ping"] = True  # survive a database restart
    engine = create_async_engine(url, **options)
    if backend == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    return engine


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
        pass
    elif connection.dialect.name == "postgresql":
        pass
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _sqlite_in_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def _reason(error: BaseException) -> str:
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip()
    return text.splitlines()[0] if text else type(error).__name__
