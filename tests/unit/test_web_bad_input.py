"""Bad input on the API: malformed JSON, wrong types, oversized bodies, too many rows and a
non-UTF-8 CSV each get a clear 4xx naming the problem, and nothing is written."""
from __future__ import annotations

import dataclasses

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.campaigns.store import CampaignStore
from ivr.config import load_settings
from ivr.contacts.store import ContactStore
from ivr.service import IvrService
from ivr.store.db import open_database
from ivr.testing.credentials import bearer
from ivr.web.app import create_app
from ivr.web.campaigns import MAX_ROWS


@pytest.fixture
async def api(tmp_path):
    settings = dataclasses.replace(load_settings(env={}), var_dir=str(tmp_path),
                                   database_url=f"sqlite+aiosqlite:///{tmp_path}/ivr.db")
    db = await open_database(settings.database_url, settings)
    client = TestClient(TestServer(create_app(IvrService(settings, db))), headers=await bearer(db, "admin"))
    await client.start_server()
    yield client, db
    await client.close()
    await db.close()


async def refused(r, status: int, words: str) -> None:
    body = await r.json()
    assert r.status == status and words in body["message"], body


@pytest.mark.parametrize("body, words", [
    ({"rows": "nope"}, "rows must be a list of objects"),
    ({"rows": [1, 2]}, "rows must be a list of objects"),
    ({"rows": [], "campaign_id": "abc"}, "campaign_id must be a number (1 or more)"),
    ({"rows": [], "campaign_id": True}, "campaign_id must be a number (1 or more)"),
    ({"rows": [], "name": {"x": 1}}, "name must be a text"),
    ({"rows": [{"phone": "+79160000001"}]}, "have no idempotency 'key'"),
    ([1, 2, 3], "the request body must be a JSON object"),
])
async def test_campaign_create_with_wrong_types_is_a_400(api, body, words):
    client, db = api
    await refused(await client.post("/api/campaigns", json=body), 400, words)
    assert await CampaignStore(db).list() == []


@pytest.mark.parametrize("body, words", [
    ({"row_id": 1}, "by (who settled it) is missing"),
    ({"by": "Ivan", "row_id": "5"}, "row_id must be a number (1 or more), not '5'"),
    ({"by": "Ivan"}, "give row_id (a number) or phone"),
    ({"by": "Ivan", "phone": ["+79160000001"]}, "phone must be a text"),
])
async def test_campaign_done_with_wrong_fields_is_a_400(api, body, words):
    client, _ = api
    await refused(await client.post("/api/campaigns/1/done", json=body), 400, words)


async def test_malformed_json_too_many_rows_and_oversized_bodies(api):
    client, db = api
    r = await client.post("/api/campaigns", data=b'{"rows": [', headers={"Content-Type": "application/json"})
    await refused(r, 400, "not JSON")
    rows = [{"key": str(i), "phone": "+79160000001"} for i in range(MAX_ROWS + 1)]
    await refused(await client.post("/api/campaigns", json={"rows": rows}), 413, f"send at most {MAX_ROWS}")
    r = await client.post("/api/campaigns", data=b" " * (7 * 1024 * 1024), headers={"Content-Type": "application/json"})
    assert r.status == 413
    assert await CampaignStore(db).list() == []


@pytest.mark.parametrize("body, words", [
    ({"name": "A", "numbers": "+79160000001"}, "numbers must be a list"),
    ({"name": "A", "numbers": ["+79160000001"], "vip": "yes"}, "vip must be true or false"),
    ({"name": 5, "numbers": ["+79160000001"]}, "name must be a text"),
    ({"numbers": ["+79160000001"]}, "name is required"),
])
async def test_contact_with_wrong_types_is_a_400(api, body, words):
    client, db = api
    await refused(await client.post("/api/contacts", json=body), 400, words)
    assert await ContactStore(db).list() == []


async def test_a_csv_that_is_not_utf8_is_refused_whole(api):
    client, db = api
    text = "name,numbers\nАнна,+79160000001\n".encode("cp1251")
    r = await client.post("/api/contacts/import", data=text, headers={"Content-Type": "text/csv"})
    await refused(r, 400, "not UTF-8")
    r = await client.post("/api/contacts/import", data=b"name,numbers\n", headers={"Content-Type": "application/json"})
    assert r.status == 415
    assert await ContactStore(db).list() == []
