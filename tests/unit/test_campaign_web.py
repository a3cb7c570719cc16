"""Campaign console pages on the real aiohttp app: the list, a campaign's counts and rows with
their attempts, filters, and the CSV export."""
from __future__ import annotations

import csv
import dataclasses
import io
from datetime import datetime, timedelta, timezone

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.campaigns.model import Passenger
from ivr.campaigns.scheduler import Decision
from ivr.campaigns.store import CampaignStore
from ivr.config import load_settings
from ivr.service import IvrService
from ivr.store.db import open_database
from ivr.users import UserStore
from ivr.web import campaign_pages
from ivr.testing.credentials import same_origin
from ivr.web.app import create_app
from ivr.web.console import NAV

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
async def setup(tmp_path):
    settings = dataclasses.replace(load_settings(env={}), var_dir=str(tmp_path),
                                   database_url=f"sqlite+aiosqlite:///{tmp_path}/ivr.db")
    db = await open_database(settings.database_url, settings)
    await UserStore(db).add("anna", "correct-horse", "dispatcher")
    app = create_app(IvrService(settings, db))
    if ("/campaigns", "Campaigns") not in app[NAV]:
        campaign_pages.setup(app)          # until ivr/web/app.py calls it
    client = TestClient(TestServer(app))
    await client.start_server()
    await client.post("/login", data={"username": "anna", "password": "correct-horse"}, allow_redirects=False)
    store = CampaignStore(db)
    yield client, store
    await client.close()
    await db.close()


async def seeded(store: CampaignStore) -> int:
    campaign = await store.create("Tomorrow 09:30", "confirm", "confirm", NOW)
    people = [Passenger(name=f"Пассажир {i}", phone=f"+7916100{i:04d}", trip_id="T1",
                        departure=NOW + timedelta(days=1)) for i in range(3)]
    await store.add_rows(campaign.id, [(p, "Europe/Moscow", Decision(False, "", NOW)) for p in people], NOW)
    claimed = await store.claim(campaign.id, "a", NOW, 3, channel_id_for=lambda r: f"c-{r.id}",
                                trunk_for=lambda r: "mts", expired=lambda r: False)
    (first, a1), (second, a2), _ = claimed
    await store.store_answer(a1.id, "1", "confirm", NOW)
    done = lambda outcome, counts, attempts, row: Decision(True, outcome)     # noqa: E731
    await store.finish(a1.id, "no_answer", NOW, done)
    await store.finish(a2.id, "busy", NOW, done)
    return campaign.id


async def test_pages_need_a_login(setup):
    client, _ = setup
    client.session.cookie_jar.clear()
    r = await client.get("/campaigns", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"].startswith("/login")


async def test_list_and_campaign_page_show_counts_and_attempts(setup):
    client, store = setup
    cid = await seeded(store)
    listing = await (await client.get("/campaigns")).text()
    assert f'href="/campaigns/{cid}"' in listing and "Tomorrow 09:30" in listing
    assert 'href="/campaigns"' in listing                  # in the navigation
    assert "2/3" in listing                                # two settled of three
    page = await (await client.get(f"/campaigns/{cid}")).text()
    assert 'data-outcome="confirm"' in page and 'data-outcome="busy"' in page
    assert "Пассажир 0" in page and "Пассажир 2" in page
    assert "mts confirmed (1)" in page and "mts busy" in page and "mts in progress" in page
    assert f'href="/campaigns/{cid}/export?format=csv"' in page
    assert f'href="/campaigns/{cid}/export?format=xlsx"' in page


async def test_filter_by_outcome(setup):
    client, store = setup
    cid = await seeded(store)
    page = await (await client.get(f"/campaigns/{cid}?result=busy")).text()
    assert "Пассажир 1" in page and "Пассажир 0" not in page and "Пассажир 2" not in page


async def test_export_and_unknown_campaign(setup):
    client, store = setup
    cid = await seeded(store)
    r = await client.get(f"/campaigns/{cid}/export?format=csv&lang=en")
    assert r.status == 200 and r.content_type == "text/csv"
    body = await r.read()
    assert body.startswith(b"\xef\xbb\xbf")                     # a BOM: Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert [(row["name"], row["result"], row["digit"]) for row in rows] == [
        ("Пассажир 0", "confirmed", "1"), ("Пассажир 1", "busy", ""), ("Пассажир 2", "", "")]
    ru = await (await client.get(f"/campaigns/{cid}/export?lang=ru")).read()
    assert "ФИО;Телефон;Рейс" in ru.decode("utf-8-sig") and ";подтвердил;" in ru.decode("utf-8-sig")
    xlsx = await client.get(f"/campaigns/{cid}/export?format=xlsx")
    from openpyxl import load_workbook
    sheet = load_workbook(io.BytesIO(await xlsx.read())).active
    assert sheet.max_row == 4
    template = await client.get("/campaigns/template?format=xlsx&lang=ru")
    assert template.status == 200
    assert [c.value for c in next(load_workbook(io.BytesIO(await template.read())).active.iter_rows())][:3] == \
        ["ФИО", "Телефон", "Рейс"]
    assert (await client.get("/campaigns/999")).status == 404


def csrf_of(page: str) -> str:
    return __import__("re").search(r'name="csrf" value="([^"]+)"', page).group(1)


async def test_chart_of_outcomes_over_time_and_live_progress(setup):
    client, store = setup
    cid = await seeded(store)
    page = await (await client.get(f"/campaigns/{cid}")).text()
    svg = page[page.index("<svg"):page.index("</svg>")]
    titles = __import__("re").findall(r"<title>([^<]+)</title>", svg)
    assert sorted(t.split(" ", 2)[2] for t in titles) == ["busy: 1", "confirmed: 1"]   # one bucket, stacked
    assert 'data-outcome="confirm"' in page and "2/3" in page and 'fetch("/campaigns/' in page
    live = await client.get(f"/campaigns/{cid}/live")
    assert live.status == 200
    data = await live.json()
    assert (data["settled"], data["total"], data["calling"], data["ended"]) == (2, 3, 1, False)
    assert data["result"] == {"confirm": 1, "busy": 1}
    assert "<svg" in data["chart_html"] and 'data-outcome="busy"' in data["counts_html"]
    api = await (await client.get(f"/api/campaigns/{cid}/progress")).json()
    assert [b["counts"] for b in api["timeline"]["buckets"]][0] == {"confirm": 1, "busy": 1}
    client.session.cookie_jar.clear()
    assert (await client.get(f"/campaigns/{cid}/live", allow_redirects=False)).status == 303


async def test_mark_done_button_settles_the_row_by_the_logged_in_user(setup):
    client, store = setup
    cid = await seeded(store)
    page = await (await client.get(f"/campaigns/{cid}?status=calling")).text()
    calling = next(r for r in await store.rows(cid) if r.status == "calling")
    assert f'action="/campaigns/{cid}/rows/{calling.id}/done"' in page
    r = await client.post(f"/campaigns/{cid}/rows/{calling.id}/done",
                          data={"csrf": csrf_of(page), "answer": "cancelled", "back": "status=calling"},
                          headers=same_origin(str(client.make_url("/"))), allow_redirects=False)
    assert r.status == 303 and r.headers["Location"].startswith(f"/campaigns/{cid}?status=calling&message=")
    row = await store.row(calling.id)
    assert (row.status, row.result) == ("done", "cancel")
    assert (await store.marks(cid))[calling.id].by == "anna"
    page = await (await client.get(f"/campaigns/{cid}?q={calling.passenger.phone}")).text()
    assert "marked by anna" in page and f'/rows/{calling.id}/done"' not in page
    assert page.count('<tr data-row=') == 1                                # the search finds one row
    refused = await client.post(f"/campaigns/{cid}/rows/{calling.id}/done", data={"answer": "confirmed"},
                                headers=same_origin(str(client.make_url("/"))), allow_redirects=False)
    assert refused.status == 403                                          # no CSRF token


async def test_ops_call_a_row_again_now_and_every_row_shows_its_next_call(setup):
    client, store = setup
    cid = await seeded(store)
    busy = next(r for r in await store.rows(cid) if r.result == "busy")          # given up: done
    page = await (await client.get(f"/campaigns/{cid}")).text()
    assert f'/rows/{busy.id}/call"' not in page                                 # anna is a dispatcher
    origin = same_origin(str(client.make_url("/")))
    assert (await client.post(f"/campaigns/{cid}/rows/{busy.id}/call", data={"csrf": csrf_of(page)},
                              headers=origin, allow_redirects=False)).status == 403
    await UserStore(store.db).add("olga", "battery-staple", "ops")
    await client.post("/login", data={"username": "olga", "password": "battery-staple"}, headers=origin,
                      allow_redirects=False)
    page = await (await client.get(f"/campaigns/{cid}")).text()
    assert f'action="/campaigns/{cid}/rows/{busy.id}/call"' in page
    r = await client.post(f"/campaigns/{cid}/rows/{busy.id}/call", data={"csrf": csrf_of(page)},
                          headers=origin, allow_redirects=False)
    assert r.status == 303 and "called+again+now" in r.headers["Location"]
    row = await store.row(busy.id)
    assert row.status == "ready" and row.next_at is not None         # due now (the service's clock)
    page = await (await client.get(f"/campaigns/{cid}?q={busy.passenger.phone}")).text()
    assert f'<td data-label="Next call" class="next-call">{row.next_at:%d.%m} ' in page
    # the API: the row's next call, and a row in flight is refused
    shown = await (await client.get(f"/api/campaigns/{cid}")).json()
    assert {r["id"]: r["next_at"] for r in shown["rows"]}[busy.id] == row.next_at.isoformat()
    calling = next(r for r in await store.rows(cid) if r.status == "calling")
    refused = await client.post(f"/api/campaigns/{cid}/rows/{calling.id}/call", headers={
        **origin, "X-CSRF-Token": csrf_of(page)})
    assert refused.status == 409 and "being called now" in (await refused.json())["message"]
