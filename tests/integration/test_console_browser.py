"""The console in Chromium against the running stack: a missed call is taken, called back from the
browser (the dispatcher's phone rings first, then the customer), they talk, and the item closes itself."""
from __future__ import annotations

import asyncio

from conftest import heard
from waits import wait_until
from ivr.store.db import open_database
from ivr.testing.world import Behaviour
from ivr.users import UserStore

MAIN = "+74951110000"
CUSTOMER = "+79161000777"


async def test_take_call_back_and_closed_in_the_browser(service, world, settings, browser, prompts):
    world.reset()
    db = await open_database(settings.database_url, settings)
    try:
        olga = await UserStore(db).add("olga", "dispatch-pass", "dispatcher", extension="101")
        await UserStore(db).set_language(olga.id, "en")      # the plan is Russian; this test reads English
    finally:
        await db.close()

    # A customer listens to the menu and hangs up: a missed call.
    leg = await world.call(MAIN, CUSTOMER)
    await asyncio.wait_for(leg.answered.wait(), 10)
    await asyncio.sleep(6)
    await world.hangup(leg)

    async def item():
        items = (await service.get(f"/api/missed?customer={CUSTOMER.replace('+', '%2B')}"))["items"]
        return items[0] if items else None
    missed = await wait_until(item, 15, "the missed-call item")
    assert missed["status"] == "open" and missed["reason"] == "abandoned_in_menu"

    # Olga's desk phone answers and says something; the customer answers, talks 12 s, hangs up.
    welcome = str(prompts["en"]["welcome"]).removesuffix(".wav")
    # It speaks once the customer is on the line (about 2 s after it answers).
    world.behaviours["101"] = Behaviour("answer", after=0.5, play=(f"sound:{welcome}",), play_after=5)
    world.behaviours[CUSTOMER] = Behaviour("answer", after=0.5, hangup_after=12)

    page = await browser.new_page(viewport={"width": 390, "height": 844})    # a phone screen
    await page.goto(service.url + "/missed")
    await page.fill("input[name=username]", "olga")
    await page.fill("input[name=password]", "dispatch-pass")
    await page.click("button.primary")
    await page.wait_for_url("**/missed")
    row = page.locator(f"tr[data-item='{missed['id']}']")
    await row.get_by_role("button", name="Take").click()
    await page.wait_for_load_state()
    row = page.locator(f"tr[data-item='{missed['id']}']")
    assert "taken" in await row.locator(".status").inner_text()
    await row.get_by_role("button", name="Call back").click()
    await page.wait_for_load_state()
    assert "Calling your phone 101 first" in await page.inner_text("[role=status]")

    async def closed():
        current = await service.get(f"/api/missed/{missed['id']}")
        return current if current["status"] == "closed" else None
    done = await wait_until(closed, 40, "the item to close after the call-back")
    assert done["close_reason"] == "called_back"

    # The customer heard the dispatcher: audio went through the bridge.
    customer_leg = next(l for l in world.incoming if l.target == CUSTOMER)
    staff_leg = next(l for l in world.incoming if l.target == "101")
    assert staff_leg.answered_at is not None and staff_leg.answered_at < customer_leg.invited_at
    assert "en/welcome" in heard(await world.wait_recording(customer_leg), prompts)

    # The open list no longer shows it; with every status it shows as closed.
    await page.goto(service.url + "/missed?status=all")
    assert "closed" in await page.locator(f"tr[data-item='{missed['id']}'] .status").inner_text()
