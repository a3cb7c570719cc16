"""The console in a real browser: log in, see the call log, on a desktop and a phone-sized screen."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import log_in, serve_console

from ivr.store.calls import CallStore


@pytest.fixture
async def console(console_db):
    settings, db = console_db
    calls = CallStore(db)
    call = await calls.start("ch-1", "+79161234567", "+74951234567", "yandex-direct", 1, datetime.now(UTC))
    await calls.finish(call, datetime.now(UTC), "abandoned_in_menu")
    async with serve_console(settings, db) as url:
        yield url


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}])
async def test_login_and_call_log(browser, console, viewport, tmp_path):
    page = await browser.new_page(viewport=viewport)
    await page.goto(console + "/calls")
    assert "/login" in page.url
    await log_in(page, "wrong-password")
    assert "Wrong user name or password" in await page.inner_text("[role=alert]")
    await log_in(page)
    await page.wait_for_url("**/calls")
    row = page.locator("tbody tr").first
    assert "+79161234567" in await row.inner_text()
    assert "hung up in the menu" in await row.inner_text()
    # Nothing is wider than the screen on a phone.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"]
    await page.screenshot(path=str(tmp_path / f"calls-{viewport['width']}.png"))
