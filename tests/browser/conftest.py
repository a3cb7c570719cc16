"""The console served from a real aiohttp server on a free port, with one dispatcher account."""
from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from ivr.config import load_settings
from ivr.service import IvrService
from ivr.store.db import Database, open_database
from ivr.users import UserStore
from ivr.web.app import create_app

USER, PASSWORD = "anna", "correct-horse"


@pytest.fixture
async def console_db(tmp_path) -> AsyncIterator[tuple]:
    """Settings on a temp dir and its migrated database, with the dispatcher USER."""
    settings = dataclasses.replace(load_settings(env={}), var_dir=str(tmp_path),
                                   database_url=f"sqlite+aiosqlite:///{tmp_path}/ivr.db")
    db = await open_database(settings.database_url, settings)
    await UserStore(db).add(USER, PASSWORD, "dispatcher")
    try:
        yield settings, db
    finally:
        await db.close()


@asynccontextmanager
async def serve_console(settings, db: Database) -> AsyncIterator[str]:
    """The console's base URL while it runs."""
    runner = web.AppRunner(create_app(IvrService(settings, db)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    finally:
        await runner.cleanup()


async def log_in(page, password: str = PASSWORD) -> None:
    """Fill the login form the page shows and submit it."""
    await page.fill("input[name=username]", USER)
    await page.fill("input[name=password]", password)
    await page.click("button.primary")
