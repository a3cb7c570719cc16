"""Opening databases: migrations, SQLite settings, errors, concurrent processes."""
from __future__ import annotations

import asyncio
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from ivr.config import ROOT, Settings
from ivr.store import CallStore, Database, DatabaseUnavailable, PlanStore, open_database
from ivr.store.db import SQLITE_BUSY_TIMEOUT_MS, alembic_config, resolve_url
from ivr.store.models import Base

# Every table of the models, plus Alembic's own; the foundation's must be among them.
TABLES = set(Base.metadata.tables) | {"alembic_version"}
assert {"calls", "call_steps", "plan_versions"} <= TABLES
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _schema(connection: Connection) -> tuple[set[str], str | None]:
    tables = set(inspect(connection).get_table_names())
    return tables, MigrationContext.configure(connection).get_current_revision()


async def test_fresh_database_is_migrated_and_reopening_is_harmless(database_url: str) -> None:
    db = await open_database(database_url)
    async with db.engine.connect() as conn:
        assert await conn.run_sync(_schema) == (TABLES, _head())
    call_id = await CallStore(db).start("ch-1", "+79161234567", "+74951112233", "", None, T0)
    version = await PlanStore(db).save("plan", "plan.yaml", "c1", "admin")
    await db.close()

    for _ in range(2):
        async with await open_database(database_url) as again:
            async with again.engine.connect() as conn:
                assert await conn.run_sync(_schema) == (TABLES, _head())
            assert (await CallStore(again).get(call_id)).channel_id == "ch-1"
            assert (await PlanStore(again).active()).version == version  # type: ignore[union-attr]


async def test_processes_starting_together_on_a_fresh_database(database_url: str) -> None:
    # The service, the web console and a CLI command may all open a new database at once.
    # return_exceptions: a failed open must not leave the others running past the test.
    results = await asyncio.gather(*(open_database(database_url) for _ in range(4)), return_exceptions=True)
    dbs = [r for r in results if isinstance(r, Database)]
    try:
        assert [r for r in results if not isinstance(r, Database)] == []
        async with dbs[0].engine.connect() as conn:
            assert await conn.run_sync(_schema) == (TABLES, _head())
            count = await conn.scalar(text("SELECT count(*) FROM alembic_version"))
        assert count == 1
    finally:
        for db in dbs:
            await db.close()


def _model_diff(connection: Connection) -> list:
    return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)


async def test_migrations_match_the_models(database_url: str) -> None:
    # Fails when a model changed without a migration (python -m ivr.store.migrations "...").
    async with await open_database(database_url) as db, db.engine.connect() as conn:
        assert await conn.run_sync(_model_diff) == []


def _down_and_up(connection: Connection) -> list[tuple[set[str], str | None]]:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")
    after_down = _schema(connection)
    command.upgrade(config, "head")
    return [after_down, _schema(connection)]


async def test_migrations_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    async with await open_database(database_url) as db, db.engine.begin() as conn:
        down, up = await conn.run_sync(_down_and_up)
    assert down == ({"alembic_version"}, None)
    assert up == (TABLES, _head())


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    async with await open_database(f"sqlite+aiosqlite:///{tmp_path / 'a' / 'b' / 'ivr.db'}") as db:
        async with db.engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == SQLITE_BUSY_TIMEOUT_MS
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert db.dialect == "sqlite"
    assert (tmp_path / "a" / "b" / "ivr.db").is_file()


def test_relative_sqlite_paths_are_taken_from_the_project_root() -> None:
    url = resolve_url("sqlite+aiosqlite:///var/ivr.db", Settings())
    assert url.database == str(ROOT / "var" / "ivr.db")
    absolute = resolve_url("sqlite+aiosqlite:////tmp/elsewhere/ivr.db", Settings())
    assert absolute.database == "/tmp/elsewhere/ivr.db"
    assert resolve_url("postgresql+asyncpg://u:p@db.example:5432/ivr").database == "ivr"


async def test_in_memory_sqlite_keeps_its_data(tmp_path: Path) -> None:
    async with await open_database("sqlite+aiosqlite://") as db:
        calls = CallStore(db)
        call_id = await calls.start("mem", "+79161234567", "+74951112233", "", None, T0)
        assert (await calls.get(call_id)).channel_id == "mem"


async def test_unusable_databases_give_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DatabaseUnavailable, match="not a database URL"):
        await open_database("no database here")
    with pytest.raises(DatabaseUnavailable, match="requires an async driver.*sqlite[+]aiosqlite"):
        await open_database(f"sqlite:///{tmp_path / 'sync' / 'ivr.db'}")
    assert not (tmp_path / "sync").exists()
    with pytest.raises(DatabaseUnavailable, match="cannot create the database directory"):
        await open_database(f"sqlite+aiosqlite:///{blocker / 'sub' / 'ivr.db'}")
    with pytest.raises(DatabaseUnavailable, match="cannot open database") as refused:
        await open_database("postgresql+asyncpg://ivr:s3cret@127.0.0.1:1/ivr")
    assert "s3cret" not in refused.value.message
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(DatabaseUnavailable, match="cannot open database"):
        await open_database(f"sqlite+aiosqlite:///{garbage}")


async def test_a_schema_newer_than_the_program_is_refused(database_url: str) -> None:
    async with await open_database(database_url) as db, db.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(DatabaseUnavailable, match="revision 9999.* newer than this program"):
        await open_database(database_url)


# A separate process writing calls, as the service, the web console and the CLI do.
WRITER = textwrap.dedent("""
    import asyncio, sys
    from datetime import UTC, datetime, timedelta
    from ivr.store import CallStore, open_database

    async def main(url, name, count):
        db = await open_database(url)
        calls = CallStore(db)
        print("ready", flush=True)
        sys.stdin.readline()  # start together
        t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        for i in range(count):
            at = t0 + timedelta(seconds=i)
            call_id = await calls.start(f"{name}-{i}", "+79161234567", "+74951112233", name, 1, at)
            for kind in ("enter", "prompt", "digit"):
                await calls.add_step(call_id, at, "main_menu", kind, {"writer": name})
            await calls.finish(call_id, at + timedelta(seconds=5), "answered")
        await db.close()

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
""")


async def test_concurrent_writers_share_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    per_writer = 25
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, url, f"proc{n}", str(per_writer), cwd=ROOT,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for n in range(3)
    ]
    local = [await open_database(url) for _ in range(2)]  # two engines in this process too
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stderr is not None
            if await proc.stdout.readline() != b"ready\n":
                pytest.fail(f"a writer could not start: {(await proc.stderr.read()).decode()}")

        async def write(name: str, calls: CallStore) -> None:
            for i in range(per_writer):
                at = T0 + timedelta(seconds=i)
                call_id = await calls.start(f"{name}-{i}", "+79161234567", "+74951112233", name, 1, at)
                for kind in ("enter", "prompt", "digit"):
                    await calls.add_step(call_id, at, "main_menu", kind, {"writer": name})
                await calls.finish(call_id, at + timedelta(seconds=5), "answered")

        async def read(calls: CallStore) -> int:
            reads = 0
            while any(p.returncode is None for p in procs):
                await calls.list(limit=20)
                reads += 1
                await asyncio.sleep(0.01)
            return reads

        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        local_work = asyncio.gather(
            write("local0", CallStore(local[0])), write("local1", CallStore(local[1])), read(CallStore(local[0]))
        )
        outputs = await asyncio.gather(*(p.communicate() for p in procs))
        *_, reads = await local_work
        for proc, (_, stderr) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, stderr.decode()
        assert reads > 0  # the console kept reading while the others wrote

        records = await CallStore(local[1]).list(limit=1000)
        assert len(records) == 5 * per_writer
        assert len({r.channel_id for r in records}) == 5 * per_writer
        assert all(r.outcome == "answered" and [s.seq for s in r.steps] == [1, 2, 3] for r in records)
        assert {r.source for r in records} == {"proc0", "proc1", "proc2", "local0", "local1"}
        # The writers really ran at the same time: their rows are interleaved.
        by_id = [r.source for r in sorted(records, key=lambda r: r.id)]
        assert sum(a != b for a, b in pairwise(by_id)) >= 10
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        for db in local:
            await db.close()
