"""Per-trunk channel counts across every node of a cluster, through PostgreSQL.

The same ChannelCounter as the in-process one (this node's channels from its Asterisk plus fresh
reservations), and what the other nodes published: their live channels per trunk (each instance
publishes its node's every PUBLISH_SECONDS and at each decision) and their reservations not yet
seen as channels. A decision of `Router.route` runs under one cluster-wide advisory lock from
reading the counts to writing its reservation, so two nodes never both take a trunk's last channel.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from ivr.errors import IvrError
from ivr.routing.router import RESERVE_SECONDS, ChannelCounter
from ivr.store.shared_pg import SharedDatabase, database_errors

log = logging.getLogger(__name__)

LOCK = "ivr-trunks"
PUBLISH_SECONDS = 0.5
# Another node's reservation counts until its published channels show the call, or this long
# (several of its publications: a reservation outlives the lag of what it covers).
HOLD_SECONDS = 5.0
# A node that has published nothing for this long is gone (its Asterisk or its instance died).
STALE_SECONDS = 10.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS shared_trunk_channels (
    node text NOT NULL, trunk text NOT NULL, live integer NOT NULL, seen double precision NOT NULL,
    PRIMARY KEY (node, trunk));
CREATE TABLE IF NOT EXISTS shared_trunk_holds (
    id bigserial PRIMARY KEY, node text NOT NULL, trunk text NOT NULL, base integer NOT NULL,
    expires double precision NOT NULL);
"""


class SharedChannelCounter(ChannelCounter):
    def __init__(self, database: SharedDatabase, node: str, clock: Callable[[], float] = time.monotonic):
        super().__init__(clock)
        self.database, self.node = database, node or "node"
        self._others: dict[str, int] = {}
        self._conn: Any = None                          # the open decision's transaction
        self._task: asyncio.Task | None = None
        self._flush: asyncio.Task | None = None

    async def start(self, list_channels: Callable[[], Awaitable[list[str]]] | None) -> None:
        await self.database.ensure(SCHEMA)
        if list_channels is not None:
            self._task = asyncio.get_running_loop().create_task(self._publish(list_channels),
                                                                name="shared-trunks")

    async def stop(self) -> None:
        for task in (self._task, self._flush):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _publish(self, list_channels: Callable[[], Awaitable[list[str]]]) -> None:
        """This node's channels, while this instance is connected to its Asterisk (a standby is not:
        it publishes nothing for the node it waits for)."""
        connected = True
        while True:
            try:
                self.update(await list_channels())
            except IvrError as e:
                if connected:
                    log.info("shared trunks: not publishing, no channel list from Asterisk error=%s", e.message)
                connected = False
            else:
                connected = True
                await self.sync()
            await asyncio.sleep(PUBLISH_SECONDS)

    @asynccontextmanager
    async def deciding(self) -> AsyncIterator[None]:
        """Under the lock; with the database away, on this node's counts and the others' last ones
        (staff keep dialling out, and the trunk's own limit at the carrier still holds)."""
        async with AsyncExitStack() as stack:
            try:
                conn = await stack.enter_async_context(self.database.locked(LOCK))
                await self._read(conn)
            except database_errors() as e:
                log.warning("shared trunks: database unreachable, deciding on the last counts error=%s", e)
                conn = None
                try:
                    await stack.aclose()
                except database_errors():
                    pass                    # the transaction went with the connection
            self._conn = conn if conn is not None else self     # anything but None: inside a decision
            try:
                yield
                if conn is not None:
                    await self._write(conn)
            finally:
                self._conn = None

    async def sync(self) -> None:
        if self._conn is not None:        # inside a decision: read and written there
            return
        try:
            async with self.database.locked(LOCK) as conn:
                await self._write(conn)
                await self._read(conn)
        except database_errors() as e:
            log.warning("shared trunks: database unreachable, counts not shared error=%s", e)

    def reserve(self, trunk: str, seconds: float = RESERVE_SECONDS) -> None:
        super().reserve(trunk, max(seconds, HOLD_SECONDS))
        if self._conn is None and (self._flush is None or self._flush.done()):
            # A leg placed outside `deciding` (endpoint_for): published at once, not atomically.
            self._flush = asyncio.get_running_loop().create_task(self.sync(), name="shared-trunks-flush")

    def counts(self) -> dict[str, int]:
        counts = super().counts()
        for trunk, n in self._others.items():
            counts[trunk] = counts.get(trunk, 0) + n
        return counts

    async def _read(self, conn: Any) -> None:
        now = time.time()
        await conn.execute("DELETE FROM shared_trunk_holds WHERE expires < $1", now)
        others: dict[str, int] = {}
        for r in await conn.fetch(
                "SELECT c.trunk, sum(c.live) AS n FROM shared_trunk_channels c WHERE c.node <> $1 AND c.trunk <> '' "
                "AND EXISTS (SELECT 1 FROM shared_trunk_channels m WHERE m.node = c.node AND m.trunk = '' "
                "AND m.seen > $2) GROUP BY c.trunk", self.node, now - STALE_SECONDS):
            others[r["trunk"]] = int(r["n"])
        for r in await conn.fetch(
                "SELECT h.trunk, count(*) AS n FROM shared_trunk_holds h LEFT JOIN shared_trunk_channels c "
                "ON c.node = h.node AND c.trunk = h.trunk WHERE h.node <> $1 AND coalesce(c.live, 0) <= h.base "
                "GROUP BY h.trunk", self.node):
            others[r["trunk"]] = others.get(r["trunk"], 0) + int(r["n"])
        self._others = others

    async def _write(self, conn: Any) -> None:
        """This node's channels per trunk (a row with trunk '' says when) and its reservations not
        yet seen as channels (the in-process ones, as they are now)."""
        now, monotonic = time.time(), self._clock()
        await conn.execute("DELETE FROM shared_trunk_channels WHERE node = $1", self.node)
        live = {"": 0, **self._live}
        await conn.executemany("INSERT INTO shared_trunk_channels VALUES ($1, $2, $3, $4)",
                               [(self.node, trunk, n, now) for trunk, n in live.items()])
        await conn.execute("DELETE FROM shared_trunk_holds WHERE node = $1", self.node)
        await conn.executemany("INSERT INTO shared_trunk_holds (node, trunk, base, expires) VALUES ($1, $2, $3, $4)",
                               [(self.node, trunk, base, now + expires - monotonic)
                                for expires, trunk, base in self._reserved if expires > monotonic])
