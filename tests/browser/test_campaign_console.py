"""A campaign's console page in a real browser: the chart of outcomes, and progress that moves
without a reload when a call ends; on a desktop and a phone-sized screen."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import log_in, serve_console

from ivr.campaigns.model import Passenger
from ivr.campaigns.scheduler import Decision
from ivr.campaigns.store import CampaignStore

DONE = lambda outcome, counts, attempts, row: Decision(True, outcome)     # noqa: E731


@pytest.fixture
async def console(console_db):
    settings, db = console_db
    store = CampaignStore(db)
    now = datetime.now(UTC)
    campaign = await store.create("Tomorrow 09:30", "confirm", "confirm", now)
    await store.add_rows(campaign.id, [(Passenger(name=f"P{i}", phone=f"+7916100{i:04d}", trip_id="T1"),
                                        "Europe/Moscow", Decision(False, "", now)) for i in range(8)], now)
    await store.change(campaign.id, "start", now)
    claimed = await store.claim(campaign.id, "a", now, 8, channel_id_for=lambda r: f"c{r.id}",
                                trunk_for=lambda r: "mts", expired=lambda r: False)
    for i, (row, attempt) in enumerate(claimed[:6]):
        if i % 2 == 0:
            await store.store_answer(attempt.id, "1", "confirm", now)
        await store.finish(attempt.id, "busy", now - timedelta(minutes=10 * i), DONE)
    async with serve_console(settings, db) as url:
        yield url, store, campaign.id, claimed[6:]


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}])
async def test_chart_and_live_progress(browser, console, viewport, tmp_path):
    url, store, cid, in_flight = console
    page = await browser.new_page(viewport=viewport)
    await page.goto(f"{url}/login?next=/campaigns/{cid}")
    await log_in(page)
    await page.wait_for_url(f"**/campaigns/{cid}")
    assert await page.locator("svg.chart rect.bar").count() >= 4     # busy and confirmed in several buckets
    assert await page.inner_text("#progress") == "6/8"
    # Calls end meanwhile: the page shows it without a reload.
    for row, attempt in in_flight:
        await store.finish(attempt.id, "no_answer", datetime.now(UTC), DONE)
    await page.wait_for_function("document.getElementById('progress').textContent === '8/8'", timeout=15000)
    assert "no answer" in await page.inner_text("#counts")
    assert "no answer" in await page.inner_text("#chart .legend")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"]
    await page.screenshot(path=str(tmp_path / f"campaign-{viewport['width']}.png"), full_page=True)
