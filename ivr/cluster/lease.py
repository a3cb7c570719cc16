"""A node's lease: exactly one service instance serves a node's Stasis calls at a time.

The lease is a PostgreSQL session advisory lock named after the node, held on a connection of its
own. An instance waits for it before it renders the node's configuration and connects to its ARI;
when the holder dies its connection closes, PostgreSQL releases the lock, and a waiting instance
takes the node over (and picks up the calls left in Stasis, as after a restart).
"""
from __future__ import annotations

import asyncio
import logging

from ivr.config import Settings

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5


class NodeLease:
    def __init__(self, settings: Settings):
        self.node = settings.node_name
        self.url = settings.database_url
        self._conn = None

    @staticmethod
    def applies(settings: Settings) -> bool:
        """Only a named node on PostgreSQL has leases; one node on SQLite needs none."""
        return bool(settings.node_name) and settings.database_url.startswith("postgresql")

    async def acquire(self) -> None:
        """Wait until this instance holds the node's lease."""
        import asyncpg
        from sqlalchemy.engine import make_url

        url = make_url(self.url)
        waiting_logged = False
        while True:
            try:
                conn = await asyncpg.connect(host=url.host, port=url.port, user=url.username,
                                             password=url.password, database=url.database)
            except (OSError, asyncpg.PostgresError) as e:
                log.warning("node lease: database unreachable node=%s error=%s", self.node, e)
                await asyncio.sleep(POLL_SECONDS)
                continue
            if await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", f"ivr-node:{self.node}"):
                self._conn = conn
                log.info("node lease taken node=%s", self.node)
                return
            await conn.close()
            if not waiting_logged:
                log.info("node lease held by another instance, standing by node=%s", self.node)
                waiting_logged = True
            await asyncio.sleep(POLL_SECONDS)

    async def lost(self) -> None:
        """Returns when the lease's connection is gone (the database restarted or went away)."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await asyncio.wait_for(self._conn.fetchval("SELECT 1"), 2)
            except Exception as e:       # whatever the failure, the lock went with the connection
                log.error("node lease lost node=%s error=%s", self.node, e)
                return
