"""Transactions of plain SQLAlchemy (Core, or a Session bound to the connection), for the
statements every call makes (its row, its end, who the caller is).

On a SQLite file a transaction runs in one hop to a thread of its own, on a synchronous engine of
the same file, and the work handed over while that thread was busy goes in one transaction
together (group commit: calls that start or end at the same moment share one commit). Through
aiosqlite, every statement, cursor, fetch, commit and reset is a hop of its own between the event
loop and aiosqlite's thread, and those hops cost more CPU than the statements (half of the
service's CPU per call at 200 concurrent calls). The thread keeps one connection for its whole
life, so a hand-over costs a queue put and a wake-up: no executor future, no pool checkout and
reset per transaction. SQLite takes one writer at a time anyway. Elsewhere (PostgreSQL through
asyncpg, an in-memory SQLite that only the async engine's one connection sees) the same function
runs on the async engine's connection (`run_sync`).
"""
from __future__ import annotations

import asyncio
import atexit
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")
Work = Callable[[Connection], Any]
Handed = tuple[Work, asyncio.Future]

EXIT_WAIT_S = 10.0      # at most this long for the last transactions when the interpreter exits


class TransactionRunner:
    def __init__(self, engine: AsyncEngine, connect_args: dict[str, Any],
                 on_connect: Callable[[Any, Any], None]):
        self._async = engine
        self._sync: Engine | None = None
        self._thread: threading.Thread | None = None
        url = engine.url
        sqlite = url.get_backend_name() == "sqlite"
        # An in-memory SQLite is one connection shared by all (StaticPool): one transaction at a time.
        self._one_at_a_time = asyncio.Lock() if sqlite and url.database in (None, "", ":memory:") else None
        if sqlite and self._one_at_a_time is None:
            self._sync = create_engine(url.set(drivername="sqlite"), connect_args=connect_args,
                                       pool_size=1, max_overflow=0)
            event.listen(self._sync, "connect", on_connect)
        # (work, its future); (None, a future) asks the thread to stop after what came before.
        self._queue: queue.SimpleQueue[tuple[Work | None, asyncio.Future | None]] = queue.SimpleQueue()

    async def run(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` in a transaction: committed when it returns, rolled back when it raises.
        `work` touches only the database: after a failure in a shared transaction it runs again alone."""
        if self._sync is None:
            if self._one_at_a_time is None:
                return await self._on_async_engine(work)
            async with self._one_at_a_time:
                return await self._on_async_engine(work)
        if self._thread is None:
            self._thread = threading.Thread(target=_serve, args=(self._queue, self._sync),
                                            name="sqlite-calls", daemon=True)
            self._thread.start()
            atexit.register(self._finish_at_exit)
        future = asyncio.get_running_loop().create_future()
        self._queue.put((work, future))
        return await future

    async def _on_async_engine(self, work: Callable[[Connection], T]) -> T:
        async with self._async.begin() as conn:
            return await conn.run_sync(work)

    async def close(self) -> None:
        """After the transactions already handed over: nothing queued is lost on a clean stop."""
        engine, self._sync = self._sync, None        # from now on `run` takes the async engine
        atexit.unregister(self._finish_at_exit)
        if self._thread is not None:
            stopped = asyncio.get_running_loop().create_future()
            self._queue.put((None, stopped))
            await stopped
            self._thread = None
        elif engine is not None:
            engine.dispose()

    def _finish_at_exit(self) -> None:
        """The interpreter exits without `close` (the service failed on its way out): the work
        already handed over (a call's record) is still written before the thread is stopped."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put((None, None))
            self._thread.join(EXIT_WAIT_S)


def _serve(handed: queue.SimpleQueue[tuple[Work | None, asyncio.Future | None]], engine: Engine) -> None:
    """The thread: waits for work, takes everything handed over by then and runs it in one
    transaction, on one connection it keeps; until it is asked to stop."""
    conn: Connection | None = None
    stopping, stop = False, None
    while not stopping:
        batch: list[Handed] = []
        work, future = handed.get()
        while True:
            if work is None:
                stopping, stop = True, future
                break
            batch.append((work, future))
            try:
                work, future = handed.get_nowait()
            except queue.Empty:
                break
        if not batch:
            continue
        try:
            if conn is None or conn.invalidated:
                conn = engine.connect()
            results = _results(conn, batch)
        except Exception as e:          # no connection: every piece of work learns why
            results = [(None, e)] * len(batch)
        _settle_soon([future for _, future in batch], results)
    if conn is not None:
        conn.close()
    engine.dispose()
    if stop is not None:
        _settle_soon([stop], [(None, None)])


def _results(conn: Connection, batch: list[Handed]) -> list[tuple[Any, Exception | None]]:
    if len(batch) == 1:
        return [_alone(conn, batch[0][0])]
    try:
        with conn.begin():
            return [(work(conn), None) for work, _ in batch]
    except Exception:
        # One of them failed: each alone, so only that one fails.
        return [_alone(conn, work) for work, _ in batch]


def _alone(conn: Connection, work: Work) -> tuple[Any, Exception | None]:
    try:
        with conn.begin():
            return work(conn), None
    except Exception as e:
        return None, e


def _settle_soon(futures: list[asyncio.Future], results: list[tuple[Any, Exception | None]]) -> None:
    """Hand the results to the loops the futures belong to (one, but a CLI may run several in turn)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, tuple[Any, Exception | None]]]] = {}
    for future, result in zip(futures, results):
        by_loop.setdefault(future.get_loop(), []).append((future, result))
    for loop, settled in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, settled)
        except RuntimeError:            # that loop is closed: nobody waits any more
            pass


def _settle(settled: list[tuple[asyncio.Future, tuple[Any, Exception | None]]]) -> None:
    for future, (result, error) in settled:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
