"""The queues page in Chromium on the queue plan: a caller waiting shows up by itself, and an agent is
paused, resumed, logged out and in again from the page (the service's own API agrees)."""
from __future__ import annotations

import asyncio
import dataclasses

from test_queue import queue_env, queue_service  # noqa: F401  (the fixture)

from ivr.store.db import open_database
from ivr.testing.world import Behaviour
from ivr.users import UserStore


async def agent_state(service, ext: str) -> dict:
    queues = (await service.get("/api/queues"))["queues"]
    return next(a for q in queues for a in q["agents"] if a["extension"] == ext)


async def test_agents_from_the_queues_page(queue_service, settings, stack_dir, browser, world):  # noqa: F811
    queue_settings = dataclasses.replace(settings, database_url=queue_env(stack_dir)["IVR_DATABASE_URL"])
    db = await open_database(queue_settings.database_url, queue_settings)
    try:
        if "lead" not in {u.username for u in await UserStore(db).all()}:
            await UserStore(db).add("lead", "queue-pass-1", "admin")
    finally:
        await db.close()
    page = await browser.new_page(viewport={"width": 390, "height": 844})
    await page.goto(queue_service.url + "/queues")
    await page.fill("input[name=username]", "lead")
    await page.fill("input[name=password]", "queue-pass-1")
    await page.click("button.primary")
    await page.wait_for_url("**/queues")

    row = "section[data-queue='line'] tr[data-agent='101']"
    await page.locator(row).get_by_role("button", name="Приостановить").click()
    await page.wait_for_url("**/queues?*")
    assert "на паузе" in await page.inner_text(f"{row} .state")
    assert (await agent_state(queue_service, "101"))["paused"] is True
    await page.locator(row).get_by_role("button", name="Продолжить").click()
    await page.wait_for_url("**/queues?*")
    assert (await agent_state(queue_service, "101"))["paused"] is False
    await page.locator(row).get_by_role("button", name="Выйти").click()
    await page.wait_for_url("**/queues?*")
    assert (await agent_state(queue_service, "101"))["logged_in"] is False
    assert "не в очереди" in await page.inner_text(f"{row} .state")
    await page.locator(row).get_by_role("button", name="Войти").click()
    await page.wait_for_url("**/queues?*")
    assert (await agent_state(queue_service, "101"))["logged_in"] is True

    # A caller waits (nobody answers 101): the page shows them within its 3 s refresh.
    world.reset()
    world.behaviours["101"] = Behaviour("ignore")
    leg = await world.call("+74951110000", "+79161300001")
    try:
        await asyncio.wait_for(leg.answered.wait(), 10)
        await page.wait_for_selector("section[data-queue='line'] table.waiting >> text=+79161300001", timeout=10_000)
    finally:
        await world.hangup(leg)
