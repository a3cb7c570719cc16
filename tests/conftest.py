"""Database fixtures: every storage test runs on SQLite and on a real PostgreSQL server."""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack

import pytest

from ivr.store import Database, open_database
from ivr.testing.postgres import PostgresUnavailable, create_database, postgres_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of the maintenance database of a throwaway PostgreSQL server, one per test session.
    Missing PostgreSQL binaries fail the tests that need them: CI installs the package."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(postgres_server())
        except PostgresUnavailable as e:
            pytest.fail(f"the PostgreSQL tests need a real server: {e.message}", pytrace=False)
        yield server.url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL of a fresh, empty database (not yet migrated), on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'ivr.db'}"
    return await create_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """An open, migrated database."""
    database = await open_database(database_url)
    try:
        yield database
    finally:
        await database.close()
