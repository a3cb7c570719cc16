"""What hunt nodes remember across calls (round-robin's last start, the member who answered last):
in the process by default, or in PostgreSQL so every instance of a cluster rotates one order.

Both give `change(node_id, step)`: `step` gets the node's memory and returns (result, new memory),
applied atomically (in PostgreSQL under a row lock).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ivr.store.shared_pg import SharedDatabase

log = logging.getLogger(__name__)
T = TypeVar("T")
MEMORY_SECONDS = 1.0         # a hunt never waits longer for its rotation

SCHEMA = """
CREATE TABLE IF NOT EXISTS shared_hunt_memory (
    node text PRIMARY KEY, last_start text NOT NULL DEFAULT '', last_answered text NOT NULL DEFAULT '');
"""


@dataclass(frozen=True)
class HuntMemory:
    last_start: str = ""       # roundrobin: the member the previous call started with
    last_answered: str = ""    # memory: the member who answered last


Step = Callable[[HuntMemory], tuple[T, HuntMemory]]


class HuntMemories:
    """In this process only (one node, the default)."""

    def __init__(self) -> None:
        self._memory: dict[str, HuntMemory] = {}

    async def start(self) -> None:
        pass

    async def change(self, node_id: str, step: Step[T]) -> T:
        result, self._memory[node_id] = step(self._memory.get(node_id, HuntMemory()))
        return result


class SharedHuntMemories(HuntMemories):
    """In PostgreSQL, for every instance of a cluster. When the database cannot be reached the call
    goes on with a fresh memory (the rotation starts at the first member), logged."""

    def __init__(self, database: SharedDatabase):
        super().__init__()
        self.database = database

    async def start(self) -> None:
        await self.database.ensure(SCHEMA)

    async def change(self, node_id: str, step: Step[T]) -> T:
        try:
            return await asyncio.wait_for(self._change(node_id, step), MEMORY_SECONDS)
        except Exception as e:      # the rotation is a courtesy: never fail or hold up a call for it
            log.warning("shared hunt memory unavailable node=%s error=%r", node_id, e)
            return step(HuntMemory())[0]

    async def _change(self, node_id: str, step: Step[T]) -> T:
        pool = await self.database.pool()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO shared_hunt_memory (node) VALUES ($1) ON CONFLICT DO NOTHING", node_id)
            row = await conn.fetchrow("SELECT last_start, last_answered FROM shared_hunt_memory "
                                      "WHERE node = $1 FOR UPDATE", node_id)
            result, memory = step(HuntMemory(row["last_start"], row["last_answered"]))
            await conn.execute("UPDATE shared_hunt_memory SET last_start = $2, last_answered = $3 "
                               "WHERE node = $1", node_id, memory.last_start, memory.last_answered)
            return result
