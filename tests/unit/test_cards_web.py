"""Call cards on the web: GET /api/cards and the console fragment every page polls, through the real
aiohttp app on a SQLite database (sessions as in test_console)."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.calls.cards import Card
from ivr.config import load_settings
from ivr.service import IvrService
from ivr.store.db import open_database
from ivr.users import UserStore
from ivr.testing.credentials import bearer
from ivr.web.app import create_app

CARD = Card(title="Olga Ivanova", number="+79161000501", label="Olga Ivanova T1 26.11 09:30",
            fields=(("Trip", "T1"), ("Route", "Moscow - Tver"), ("Pressed", "3 (dispatcher)")), kind="campaign")


@pytest.fixture
async def app(tmp_path):
    settings = dataclasses.replace(load_settings(env={}), var_dir=str(tmp_path),
                                   database_url=f"sqlite+aiosqlite:///{tmp_path}/ivr.db")
    db = await open_database(settings.database_url, settings)
    users = UserStore(db)
    await users.add("anna", "correct-horse", "dispatcher", extension="101")
    await users.add("boris", "correct-horse", "admin")
    service = IvrService(settings, db)
    client = TestClient(TestServer(create_app(service)))
    client.api_headers = await bearer(db, "viewer")      # the API by token, the pages by login
    await client.start_server()
    yield client, service.services.cards
    await client.close()
    await db.close()


async def login(client: TestClient, username: str) -> None:
    r = await client.post("/login", data={"username": username, "password": "correct-horse"},
                          allow_redirects=False)
    assert r.status == 303


async def test_api_lists_the_cards_of_one_extension(app):
    client, cards = app
    cards.show("101", "leg-1", "camp-3-7", CARD, datetime(2025, 11, 25, 12, 0, tzinfo=UTC))
    body = await (await client.get("/api/cards?extension=101", headers=client.api_headers)).json()
    assert body["extension"] == "101"
    [card] = body["cards"]
    assert (card["title"], card["number"], card["label"], card["state"], card["call_id"]) == (
        "Olga Ivanova", "+79161000501", "Olga Ivanova T1 26.11 09:30", "ringing", "camp-3-7")
    assert {f["name"]: f["value"] for f in card["fields"]}["Trip"] == "T1"
    assert (await (await client.get("/api/cards?extension=102", headers=client.api_headers)).json())["cards"] == []
    cards.clear("leg-1")
    assert (await (await client.get("/api/cards?extension=101", headers=client.api_headers)).json())["cards"] == []


@pytest.mark.parametrize("query", ["", "?extension=", "?extension=10%201"])
async def test_api_needs_an_extension(app, query):
    client, _ = app
    r = await client.get(f"/api/cards{query}", headers=client.api_headers)
    assert r.status == 400 and (await r.json())["error"] == "invalid-input"


async def test_console_polls_and_shows_the_users_own_card(app):
    client, cards = app
    assert (await client.get("/call-cards", allow_redirects=False)).status == 303     # needs a login
    await login(client, "anna")
    page = await (await client.get("/calls")).text()
    assert 'id="call-cards"' in page and 'data-refresh="/call-cards"' in page
    assert "Olga Ivanova" not in await (await client.get("/call-cards")).text()
    cards.show("101", "leg-1", "camp-3-7", CARD, datetime.now(UTC))
    cards.show("102", "leg-2", "camp-3-8", dataclasses.replace(CARD, title="Someone Else"), datetime.now(UTC))
    fragment = await (await client.get("/call-cards")).text()
    assert "Olga Ivanova" in fragment and "+79161000501" in fragment and "Moscow - Tver" in fragment
    assert "ringing" in fragment and "Someone Else" not in fragment
    cards.talking("leg-1")
    assert "on the line" in await (await client.get("/call-cards")).text()
    cards.clear("leg-1")
    assert "Olga Ivanova" not in await (await client.get("/call-cards")).text()


async def test_a_user_without_an_extension_gets_no_cards(app):
    client, cards = app
    cards.show("", "leg-1", "c", CARD, datetime.now(UTC))      # nobody's extension is ""
    await login(client, "boris")
    assert 'id="call-cards"' not in await (await client.get("/calls")).text()
    assert "Olga Ivanova" not in await (await client.get("/call-cards")).text()
