"""The console in a real browser: log in, see the call log, on a desktop and a phone-sized screen."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from aiohttp import web

from ivr.config import load_settings
from ivr.service import IvrService
from ivr.store.calls import CallStore
from ivr.store.db import open_database
from ivr.users import UserStore
from ivr.web.app import create_app


@pytest.fixture
async def console(tmp_path):
    settings = dataclasses.replace(load_settings(env={}), var_dir=str(tmp_path),
                                   database_url=f"sqlite+aiosqlite:///{tmp_path}/ivr.db")
    db = await open_database(settings.database_url, settings)
    await UserStore(db).add("anna", "correct-horse", "dispatcher")
    calls = CallStore(db)
    call = await calls.start("ch-1", "+79161234567", "+74951234567", "yandex-direct", 1, datetime.now(UTC))
    await calls.finish(call, datetime.now(UTC), "abandoned_in_menu")
    runner = web.AppRunner(create_app(IvrService(settings, db)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()
    await db.close()


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}])
async def test_login_and_call_log(browser, console, viewport, tmp_path):
    page = await browser.new_page(viewport=viewport)
    await page.goto(console + "/calls")
    assert "/login" in page.url
    await page.fill("input[name=username]", "anna")
    await page.fill("input[name=password]", "wrong-password")
    await page.click("button.primary")
    assert "Wrong user name or password" in await page.inner_text("[role=alert]")
    await page.fill("input[name=username]", "anna")
    await page.fill("input[name=password]", "correct-horse")
    await page.click("button.primary")
    await page.wait_for_url("**/calls")
    row = page.locator("tbody tr").first
    assert "+79161234567" in await row.inner_text()
    assert "abandoned in menu" in await row.inner_text()
    # Nothing is wider than the screen on a phone.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"]
    await page.screenshot(path=str(tmp_path / f"calls-{viewport['width']}.png"))
