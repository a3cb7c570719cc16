"""Transactions of plain SQLAlchemy (Core, or a Session bound to the connection), for the
statements every call makes (its row, its end, who the caller is).

On a SQLite file a transaction runs in one hop to a thread of its own, on a synchronous engine of
the same file, and the work handed over while that thread was busy goes in one transaction
together (group commit: calls that start or end at the same moment share one commit). Through aiosqlite, every statement, cursor, fetch, commit and reset is a
hop of its own between the event loop and aiosqlite's thread, and those hops cost more CPU than the
statements (half of the service's CPU per call at 200 concurrent calls). One thread keeps the
sqlite3 connection in the thread that made it; SQLite takes one writer at a time anyway. Elsewhere
(PostgreSQL through asyncpg, an in-memory SQLite that only the async engine's one connection
sees) the same function runs on the async engine's connection (`run_sync`).
"""
from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")
Work = Callable[[Connection], Any]


class TransactionRunner:
    def __init__(self, engine: AsyncEngine, connect_args: dict[str, Any],
                 on_connect: Callable[[Any, Any], None]):
        self._async = engine
        self._sync: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        url = engine.url
        sqlite = url.get_backend_name() == "sqlite"
        # An in-memory SQLite is one connection shared by all (StaticPool): one transaction at a time.
        self._one_at_a_time = asyncio.Lock() if sqlite and url.database in (None, "", ":memory:") else None
        if sqlite and self._one_at_a_time is None:
            self._sync = create_engine(url.set(drivername="sqlite"), connect_args=connect_args,
                                       pool_size=1, max_overflow=0)
            event.listen(self._sync, "connect", on_connect)
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-calls")
        self._queue: queue.SimpleQueue[tuple[Work, asyncio.Future]] = queue.SimpleQueue()

    async def run(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` in a transaction: committed when it returns, rolled back when it raises.
        `work` touches only the database: after a failure in a shared transaction it runs again alone."""
        if self._sync is None:
            if self._one_at_a_time is None:
                return await self._on_async_engine(work)
            async with self._one_at_a_time:
                return await self._on_async_engine(work)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((work, future))
        assert self._thread is not None
        self._thread.submit(self._drain, loop)
        return await future

    async def _on_async_engine(self, work: Callable[[Connection], T]) -> T:
        async with self._async.begin() as conn:
            return await conn.run_sync(work)

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """In the thread: everything handed over so far, in one transaction (an earlier drain may
        have taken it all already)."""
        batch: list[tuple[Work, asyncio.Future]] = []
        while True:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if not batch:
            return
        if len(batch) == 1:
            results = [self._alone(batch[0][0])]
        else:
            try:
                results = [(r, None) for r in self._together(batch)]
            except Exception:
                # One of them failed: each alone, so only that one fails.
                results = [self._alone(work) for work, _ in batch]
        loop.call_soon_threadsafe(_settle, [future for _, future in batch], results)

    def _together(self, batch: list[tuple[Work, asyncio.Future]]) -> list[Any]:
        assert self._sync is not None
        with self._sync.begin() as conn:
            return [work(conn) for work, _ in batch]

    def _alone(self, work: Work) -> tuple[Any, Exception | None]:
        assert self._sync is not None
        try:
            with self._sync.begin() as conn:
                return work(conn), None
        except Exception as e:
            return None, e

    async def close(self) -> None:
        """After the transactions already handed over: nothing queued is lost on a clean stop."""
        if self._sync is None or self._thread is None:
            return
        await asyncio.get_running_loop().run_in_executor(self._thread, self._sync.dispose)
        self._thread.shutdown(wait=False)
        self._sync = None


def _settle(futures: list[asyncio.Future], results: list[tuple[Any, Exception | None]]) -> None:
    for future, (result, error) in zip(futures, results):
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
