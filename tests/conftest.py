"""Database fixtures: every storage test runs on SQLite and on a real PostgreSQL server."""
from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from ivr.store import Database, open_database
from ivr.testing.postgres import PostgresUnavailable, create_database, find_bin_dir, postgres_server

# The `ivr` command speaks the plan's language (Russian in the test plans) unless told otherwise:
# tests read its English output, and ask for Russian with --lang ru.
os.environ["LANGUAGE"] = "en"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of the maintenance database of a throwaway PostgreSQL server, one per test session.
    Missing PostgreSQL binaries fail the tests that need them: CI installs the package."""
    try:
        bin_dir = find_bin_dir()
    except PostgresUnavailable as e:
        problem = e.message
    else:
        with postgres_server(bin_dir) as server:
            yield server.url
        return
    pytest.fail(f"the PostgreSQL tests need a real server: {problem}", pytrace=False)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a fresh, empty database (not yet migrated), on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'ivr.db'}"
    return await create_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """An open, migrated database."""
    database = await open_database(database_url)
    try:
        yield database
    finally:
        await database.close()


def pytest_configure(config):
    # Each pytest process gets its own temp root, so runs side by side (developers, helpers, CI on
    # other nets) never prune or wipe each other's files; roots of finished runs are removed here.
    if config.option.basetemp:
        return
    root = Path("/tmp/ivr-tests")
    root.mkdir(exist_ok=True)
    for old in root.glob("run-*"):
        pid = old.name.removeprefix("run-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    config.option.basetemp = str(root / f"run-{os.getpid()}")


# ----- a real browser: Playwright driving Debian's Chromium (no browser download) -----


CHROMIUM = "/usr/bin/chromium"
# Without these, Chromium on this closed network keeps trying Google's hosts.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
async def browser():
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()
