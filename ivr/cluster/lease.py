"""Leases: what exactly one service instance of a cluster does at a time.

A lease is a PostgreSQL session advisory lock named after what it guards (a node, the cluster's
singleton jobs), held on a connection of its own. When the holder dies its connection closes,
PostgreSQL releases the lock and a waiting instance takes the lease. Three ways to wait for one:

- `acquire(standby=True)`: an instance waiting for its own node marks itself as the node's standby
  (a second lock), so other instances leave the node to it;
- `take_over()`: another instance's node, only once it has been seen held and is then free with no
  standby waiting for it (a node whose instance has not started yet is not taken);
- `acquire()`: the first to ask gets it (the cluster's singleton jobs).

After a database restart every lock is gone at once: the holders take theirs again (`hold`), and
waiters that lost their connection wait `RECLAIM_SECONDS` before trying, and longer (up to
`RECLAIM_MAX_SECONDS`) while the instance last seen holding the lease is connected again: a live
holder, however slow to reconnect, gets its lease back; a dead one is not waited for.
"""
from __future__ import annotations

import asyncio
import logging
import time

from ivr.config import Settings

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5
RECLAIM_SECONDS = 3.0
RECLAIM_MAX_SECONDS = 30.0
# Both queries look at this database only: advisory locks belong to one database, but pg_locks and
# pg_stat_activity show the whole server, which may hold another site's (or another test's) cluster.
ALIVE = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()"
CHECK_TIMEOUT = 2.0
# classid of our advisory locks in pg_locks; the name's hash is their objid.
NAMESPACE = 0x1F0C1
HOLDER = """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid = $1::int::oid AND l.objid = hashtext($2)::oid"""


def node_key(node: str) -> str:
    return f"ivr-node:{node}"


def standby_key(node: str) -> str:
    return f"ivr-standby:{node}"


JOBS_KEY = "ivr-jobs"


def applies(settings: Settings) -> bool:
    """Only a named node on PostgreSQL has leases; one node on SQLite needs none."""
    return bool(settings.node_name) and settings.database_url.startswith("postgresql")


async def holders(settings: Settings, keys: list[str]) -> dict[str, str | None]:
    """Which instance (its PostgreSQL application_name) holds each lease now."""
    conn = await _connect(settings.database_url, "ivr-status")
    try:
        return {key: await conn.fetchval(HOLDER, NAMESPACE, key) for key in keys}
    finally:
        await conn.close()


async def _connect(url: str, holder: str):
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return await asyncpg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                                 database=u.database, timeout=CHECK_TIMEOUT,
                                 server_settings={"application_name": holder})


class Lease:
    def __init__(self, settings: Settings, key: str, holder: str):
        self.url, self.key, self.holder = settings.database_url, key, holder
        self._conn = None
        self._held: set[str] = set()                # locks held on the current connection
        self._connected_once = False
        self._reconnected_at: float | None = None   # monotonic time of the last connection after a loss
        self._last_holder: str | None = None        # the other instance last seen holding the lease

    # ----- the connection -----

    async def _connection(self):
        """The lease's connection, opened again after a loss (None while the database is away)."""
        if self._conn is not None and not self._conn.is_closed():
            return self._conn
        self._conn = None
        self._held.clear()
        try:
            conn = await _connect(self.url, self.holder)
        except Exception as e:      # refused, timed out, starting up: asyncpg's errors share no base
            log.warning("lease: database unreachable key=%s error=%s", self.key, e)
            return None
        if self._connected_once:
            self._reconnected_at = time.monotonic()
        self._conn, self._connected_once = conn, True
        return conn

    async def _query(self, sql: str, *args):
        conn = await self._connection()
        if conn is None:
            raise ConnectionError("database unreachable")
        try:
            return await asyncio.wait_for(conn.fetchval(sql, *args), CHECK_TIMEOUT)
        except Exception:
            conn.terminate()             # a connection that failed once is not trusted again
            raise

    async def _may_try(self) -> bool:
        """Connected, and not just after a reconnection: the holders take their leases back first,
        and a holder that is connected again (alive) is given the time it takes."""
        if await self._connection() is None:
            return False
        if self._reconnected_at is None:
            return True
        waited = time.monotonic() - self._reconnected_at
        if waited < RECLAIM_SECONDS:
            return False
        if waited >= RECLAIM_MAX_SECONDS or self._last_holder is None:
            return True
        return not await self._query(ALIVE, self._last_holder)

    async def _try(self, key: str) -> bool:
        """Take the lock unless held already (a session's advisory locks stack: take each once)."""
        if key not in self._held and await self._query("SELECT pg_try_advisory_lock($1, hashtext($2))",
                                                       NAMESPACE, key):
            self._held.add(key)
        return key in self._held

    async def _unlock(self, key: str) -> None:
        if key in self._held:
            self._held.discard(key)
            await self._query("SELECT pg_advisory_unlock($1, hashtext($2))", NAMESPACE, key)

    async def _holder(self, key: str) -> str | None:
        holder = await self._query(HOLDER, NAMESPACE, key)
        if key == self.key and holder is not None and holder != self.holder:
            self._last_holder = holder
        return holder

    # ----- waiting for it -----

    async def acquire(self, standby: str = "") -> None:
        """Wait until this instance holds the lease; while waiting, hold the `standby` lock if given."""
        logged = False
        while True:
            try:
                ready = await self._may_try()
                if ready and standby:
                    await self._try(standby)
                if ready and await self._try(self.key):
                    if standby:
                        await self._unlock(standby)
                    log.info("lease taken key=%s holder=%s", self.key, self.holder)
                    return
                holder = await self._holder(self.key)       # remembered for after a database restart
                if not logged:
                    log.info("lease held by %s, waiting key=%s", holder, self.key)
                    logged = True
            except Exception as e:
                log.warning("lease: waiting key=%s error=%s", self.key, e)
            await asyncio.sleep(POLL_SECONDS)

    async def take_over(self, standby: str) -> None:
        """Wait until the lease's holder has gone with nobody standing by for it, then take it."""
        seen = False
        while True:
            try:
                if await self._may_try():
                    holder = await self._holder(self.key)
                    if holder is not None:
                        seen = True
                    elif seen and await self._holder(standby) is None and await self._try(self.key):
                        log.warning("lease taken over key=%s holder=%s", self.key, self.holder)
                        return
            except Exception as e:
                log.warning("lease: watching key=%s error=%s", self.key, e)
            await asyncio.sleep(POLL_SECONDS)

    # ----- holding it -----

    async def hold(self) -> None:
        """Returns when the lease is lost to another instance. A connection lost with the lease (the
        database restarted) is opened again and the lease taken back; while the database is away,
        nobody else can take it, so the holder goes on."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self._query("SELECT 1")
                if self.key in self._held:
                    continue
                # The query ran on a new connection (the old one closed between two checks, e.g.
                # while the database restarted): the lock went with the old one.
                log.error("lease connection replaced key=%s", self.key)
            except Exception as e:
                log.error("lease connection lost key=%s error=%s", self.key, e)
            while True:
                try:
                    if await self._try(self.key):
                        log.warning("lease taken back after the database came back key=%s", self.key)
                        break
                    log.error("lease lost to %s key=%s", await self._holder(self.key), self.key)
                    return
                except Exception:
                    await asyncio.sleep(POLL_SECONDS)

    async def holder_now(self) -> str | None:
        """The instance holding this lease now, asked on this object's own connection (a watcher's,
        not a holder's: it remembers nothing)."""
        return await self._query(HOLDER, NAMESPACE, self.key)

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close(timeout=CHECK_TIMEOUT)
            except Exception:           # a connection left mid-query by a cancelled wait: cut it
                conn.terminate()
