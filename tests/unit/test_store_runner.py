"""Database.run: one transaction per hand-over, shared by the work handed over together (group
commit), a failing piece of work failing alone, nothing lost on close or at the interpreter's exit,
the same on in-memory SQLite."""
from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from ivr.store.db import open_database


async def _table(db) -> None:
    await db.run(lambda c: c.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)")))


def _insert(value: str):
    def work(conn: Connection) -> int:
        return conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": value}).lastrowid
    return work


def _count(conn: Connection) -> int:
    return conn.execute(text("SELECT count(*) FROM t")).scalar_one()


async def test_work_handed_over_together_shares_transactions_and_a_failure_stays_its_own(tmp_path: Path) -> None:
    async with await open_database(f"sqlite+aiosqlite:///{tmp_path}/x.db") as db:
        await _table(db)
        # 60 inserts at once, every tenth a duplicate of the one before it.
        values = [str(i - 1 if i % 10 == 9 else i) for i in range(60)]
        results = await asyncio.gather(*(db.run(_insert(v)) for v in values), return_exceptions=True)
        failed = [v for v, r in zip(values, results) if isinstance(r, Exception)]
        assert all(isinstance(r, IntegrityError) for r in results if isinstance(r, Exception))
        assert len(failed) == 6 and await db.run(_count) == 54
        assert sorted(r for r in results if isinstance(r, int)) == list(range(1, 55)) or len(
            {r for r in results if isinstance(r, int)}) == 54


async def test_what_is_written_is_seen_by_the_async_sessions_and_kept_on_close(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/x.db"
    db = await open_database(url)
    await _table(db)
    pending = [asyncio.ensure_future(db.run(_insert(str(i)))) for i in range(20)]
    await asyncio.sleep(0)                     # handed over, not yet done
    await asyncio.gather(*pending)
    async with db.session() as s:
        assert (await s.execute(text("SELECT count(*) FROM t"))).scalar_one() == 20
    await db.close()
    async with await open_database(url) as again:
        assert await again.run(_count) == 20


async def test_a_failing_work_rolls_back_what_it_wrote(tmp_path: Path) -> None:
    async with await open_database(f"sqlite+aiosqlite:///{tmp_path}/x.db") as db:
        await _table(db)

        def half(conn: Connection) -> None:
            _insert("a")(conn)
            raise ValueError("changed my mind")

        with pytest.raises(ValueError):
            await db.run(half)
        assert await db.run(_count) == 0


async def test_in_memory_sqlite_runs_on_the_async_engine() -> None:
    async with await open_database("sqlite+aiosqlite://") as db:
        await _table(db)
        await asyncio.gather(*(db.run(_insert(str(i))) for i in range(5)))
        async with db.session() as s:          # the one connection an in-memory database has
            assert (await s.execute(text("SELECT count(*) FROM t"))).scalar_one() == 5


def test_work_handed_over_is_written_when_the_interpreter_exits_without_close(tmp_path: Path) -> None:
    # The service failing on its way out never closes the database: a call's record already handed
    # over must still be written, not lost with the thread.
    script = f"""
import asyncio, time
from sqlalchemy import text
from ivr.store.db import open_database

async def main():
    db = await open_database("sqlite+aiosqlite:///{tmp_path}/x.db")
    await db.run(lambda c: c.execute(text("CREATE TABLE t (v TEXT)")))
    def slow(c):
        time.sleep(0.3)
        c.execute(text("INSERT INTO t VALUES ('kept')"))
    asyncio.ensure_future(db.run(slow))
    await asyncio.sleep(0.05)

asyncio.run(main())
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, cwd=Path(__file__).parents[2])
    with sqlite3.connect(tmp_path / "x.db") as conn:
        assert conn.execute("SELECT v FROM t").fetchall() == [("kept",)]
