"""Report numbers checked against calls placed through the real stack: three calls to the advert's
number on a Wednesday, one of them missed at 13:10, show in the sources report, in the 13:00 cell of
the load heatmap, and on the home dashboard; the console's pages show the same numbers in Russian and
in English."""
from __future__ import annotations

import asyncio
import re

import aiohttp
from test_console_pages_browser import add_user

from ivr.testing.world import Behaviour

ADS = "+74951110001"
WEDNESDAY_1310 = "2026-11-25T13:10:00+03:00"
DAY = "from=2026-11-25&to=2026-11-25"


def ads_row(report: dict) -> dict:
    return next((r for r in report["rows"] if r["number"] == ADS),
                {"calls": 0, "unique": 0, "new": 0, "answered": 0, "missed": 0, "lost": 0})


async def console_page(settings, service, path: str, language: str) -> str:
    """A console page as a user who reads `language` sees it."""
    name = f"reports-{language}"
    await add_user(settings, name, "admin", language)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:     # cookies of an IP
        async with http.post(service.url + "/login", data={"username": name, "password": "pages-pass-1"}) as r:
            assert r.status == 200, await r.text()
        async with http.get(service.url + path) as r:
            assert r.status == 200
            page = await r.text()
    assert f'<html lang="{language}">' in page and 'name="password"' not in page      # logged in
    return page


def cell(report: dict, weekday: int, hour: int) -> dict:
    return next((c for c in report["heat"] if (c["weekday"], c["hour"]) == (weekday, hour)),
                {"calls": 0, "missed": 0})


async def test_three_advert_calls_one_missed_at_1310(service_process, world, plan, settings):
    service_process.stop()
    service_process.start(IVR_CLOCK=WEDNESDAY_1310)
    await service_process.wait_ready()
    service = service_process
    try:
        before_sources = await service.get(f"/api/reports/sources?{DAY}")
        before_load = await service.get(f"/api/reports/load?{DAY}")
        before_today = (await service.get("/api/dashboard"))["today"]
        world.reset()
        world.behaviours["101"] = Behaviour("answer", after=0.5, hangup_after=2)

        # 13:10: listens to the menu and hangs up (missed); then two callers who press 1 and talk.
        missed = await world.call(ADS, "+79161310001")
        await asyncio.wait_for(missed.answered.wait(), 10)
        await asyncio.sleep(5)
        await world.hangup(missed)
        record = await service.call_record("+79161310001")
        assert record["started_at"].startswith("2026-11-25T10:10"), record["started_at"]    # 13:10 Moscow
        for caller in ("+79161310002", "+79161310003"):
            leg = await world.call(ADS, caller)
            await asyncio.wait_for(leg.answered.wait(), 10)
            await asyncio.sleep(4)
            await world.press(leg, "1")
            await asyncio.wait_for(leg.ended.wait(), 30)
            assert (await service.call_record(caller))["outcome"] == "answered"

        await service.post_ok("/api/reports/spend", {"source": "ads-test", "first_day": "2026-11-25",
                                                  "last_day": "2026-11-25", "amount": "300"})
        sources = await service.get(f"/api/reports/sources?{DAY}")
        now, then = ads_row(sources), ads_row(before_sources)
        assert {k: now[k] - then[k] for k in ("calls", "unique", "new", "answered", "missed", "lost")} == \
            {"calls": 3, "unique": 3, "new": 3, "answered": 2, "missed": 1, "lost": 1}, (then, now)
        assert now["source"] == "ads-test" and float(now["spend"]) >= 300
        assert abs(float(now["cost_per_lead"]) - float(now["spend"]) / now["new"]) < 0.01

        load = await service.get(f"/api/reports/load?{DAY}")
        wednesday_13, was = cell(load, 2, 13), cell(before_load, 2, 13)
        assert (wednesday_13["calls"] - was["calls"], wednesday_13["missed"] - was["missed"]) == (3, 1)
        hour = next(r for r in load["rows"] if r["hour"] == "13:00")
        assert hour["needed"] >= 1 and hour["free"] is not None

        # The pages a manager opens show the same numbers, in Russian and in English.
        for language, words in (("ru", "звонков: %(calls)s, пропущено: %(missed)s"),
                                ("en", "%(calls)s calls, %(missed)s missed")):
            page = await console_page(settings, service, f"/reports/sources?{DAY}", language)
            row = next(r for r in re.findall(r"<tr>(.*?)</tr>", page, re.S) if ADS in r)
            shown = dict(re.findall(r'data-key="(\w+)">([^<]*)<', row))
            assert {k: int(shown[k]) for k in ("calls", "missed", "lost")} == \
                {k: now[k] for k in ("calls", "missed", "lost")}, (language, shown)
            page = await console_page(settings, service, f"/reports/load?{DAY}", language)
            title = words % {"calls": wednesday_13["calls"], "missed": wednesday_13["missed"]}
            assert 'data-cell="2-13"' in page and f'title="{title}"' in page, (language, title)

        today = (await service.get("/api/dashboard"))["today"]
        assert today["calls"] - before_today["calls"] == 3
        assert today["missed"] - before_today["missed"] == 1
        assert today["not_reached"] - before_today["not_reached"] == 1
    finally:
        service_process.stop()          # the next test's `service` starts it on the usual clock
