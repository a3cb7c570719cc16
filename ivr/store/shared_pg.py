"""Live state that several service instances share through PostgreSQL (setting `shared_state:
postgresql`): queue lines and agent states, hunt memory, per-trunk channel counts.

These tables hold coordination state, not records: each owner creates its own tables here at start
(`CREATE ... IF NOT EXISTS`), they are not in the Alembic schema, and backups leave them out.
Changes are serialised by transaction-scoped advisory locks, one per kind of state, and announced
with NOTIFY so other instances act on them at once instead of polling.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from ivr.errors import ConfigError

log = logging.getLogger(__name__)

MODES = ("process", "postgresql")
RECONNECT_SECONDS = 1.0
ACQUIRE_SECONDS = 3.0


def database_errors() -> tuple[type[BaseException], ...]:
    """What a database that is away raises: refused or lost connections, timeouts, server errors
    (asyncpg is imported only where state is shared)."""
    import asyncpg
    return OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError


def uses_postgresql(mode: str, database_url: str) -> bool:
    """Whether live state is shared through the database; raises ConfigError on a bad setting."""
    if mode not in MODES:
        raise ConfigError(f"setting shared_state: {mode!r} is not one of {', '.join(MODES)}")
    if mode == "postgresql" and not database_url.startswith("postgresql"):
        raise ConfigError("setting shared_state: postgresql needs database_url on PostgreSQL, "
                          f"not {database_url.split(':', 1)[0]}")
    return mode == "postgresql"


class SharedDatabase:
    """A small asyncpg pool on the service's database, opened on first use."""

    def __init__(self, database_url: str):
        self.url = database_url
        self._pool: Any = None
        self._opening = asyncio.Lock()

    def _connect_args(self) -> dict[str, Any]:
        from sqlalchemy.engine import make_url
        url = make_url(self.url)
        return {"host": url.host, "port": url.port, "user": url.username, "password": url.password,
                "database": url.database}

    async def pool(self) -> Any:
        import asyncpg
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(min_size=1, max_size=4, timeout=ACQUIRE_SECONDS,
                                                       **self._connect_args())
        return self._pool

    async def ensure(self, ddl: str) -> None:
        """Create tables once; concurrent instances take turns (DDL is not idempotent under races)."""
        async with self.locked("ivr-shared-schema") as conn:
            await conn.execute(ddl)

    @asynccontextmanager
    async def locked(self, name: str) -> AsyncIterator[Any]:
        """A transaction holding the cluster-wide lock `name` until it commits or rolls back."""
        pool = await self.pool()
        async with pool.acquire(timeout=ACQUIRE_SECONDS) as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", name)
            yield conn

    async def listen(self, channel: str, on_payload: Callable[[str], None]) -> None:
        """Call `on_payload` for each NOTIFY on `channel`, reconnecting when the connection drops;
        runs until cancelled. After a reconnect it reports an empty payload: something may have been
        missed, so the listener should look again."""
        import asyncpg
        while True:
            try:
                conn = await asyncpg.connect(**self._connect_args())
            except (OSError, asyncpg.PostgresError) as e:
                log.warning("shared state: cannot listen channel=%s error=%s", channel, e)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c: lost.set())
            try:
                await conn.add_listener(channel, lambda _c, _pid, _ch, payload: on_payload(payload))
                on_payload("")
                await lost.wait()
                log.warning("shared state: listening connection lost channel=%s", channel)
            finally:
                if not conn.is_closed():
                    await conn.close()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
