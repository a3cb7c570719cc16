"""The console's login, sessions and CSRF, through the real aiohttp app on a SQLite database."""
from __future__ import annotations

import dataclasses

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.config import load_settings
from ivr.service import IvrService
from ivr.store.db import open_database
from ivr.users import UserStore, check_password, hash_password
from ivr.testing.credentials import same_origin
from ivr.web.app import create_app
from ivr.web.keys import SERVICE


@pytest.fixture
async def client(tmp_path):
    settings = dataclasses.replace(load_settings(env={}), var_dir=str(tmp_path),
                                   database_url=f"sqlite+aiosqlite:///{tmp_path}/ivr.db")
    db = await open_database(settings.database_url, settings)
    await UserStore(db).add("anna", "correct-horse", "dispatcher")
    client = TestClient(TestServer(create_app(IvrService(settings, db))))
    await client.start_server()
    yield client
    await client.close()
    await db.close()


def test_password_hash_round_trip():
    stored = hash_password("s3cret-pass")
    assert stored.startswith("scrypt$") and "s3cret-pass" not in stored
    assert check_password("s3cret-pass", stored)
    assert not check_password("s3cret-pasS", stored)
    assert hash_password("s3cret-pass") != stored          # salted


async def test_pages_need_a_login(client):
    r = await client.get("/calls", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"].startswith("/login?next=/calls")


async def test_wrong_password_is_refused(client):
    r = await client.post("/login", data={"username": "anna", "password": "nope", "next": "/calls"},
                          allow_redirects=False)
    assert r.status == 401
    assert "Wrong user name or password" in await r.text()


async def test_login_then_calls_page(client):
    r = await client.post("/login", data={"username": "anna", "password": "correct-horse", "next": "/calls"},
                          allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/calls"
    page = await client.get("/calls")
    assert page.status == 200
    text = await page.text()
    assert "No calls yet." in text and "anna (dispatcher)" in text


async def test_login_never_redirects_off_site(client):
    r = await client.post("/login", data={"username": "anna", "password": "correct-horse",
                                          "next": "//evil.example/"}, allow_redirects=False)
    assert r.headers["Location"] == "/"


async def test_post_without_csrf_token_is_refused(client):
    await client.post("/login", data={"username": "anna", "password": "correct-horse"}, allow_redirects=False)
    r = await client.post("/logout", data={}, headers=same_origin(str(client.make_url("/"))), allow_redirects=False)
    assert r.status == 403 and (await r.json())["error"] == "cross-site"


async def test_a_made_up_cookie_is_not_a_session(client):
    await client.post("/login", data={"username": "anna", "password": "correct-horse"}, allow_redirects=False)
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["ivr_session"].value
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({"ivr_session": cookie[:-2] + "xx"}, response_url=client.make_url("/"))
    r = await client.get("/calls", allow_redirects=False)
    assert r.status == 303


@pytest.mark.parametrize("path", ["/", "/reports/sources", "/reports/load", "/reports/staff", "/reports/missed",
                                  "/reports/queues", "/reports/trunks", "/reports/campaigns", "/queues", "/missed",
                                  "/missed?status=all&short=1", "/contacts", "/calls", "/campaigns", "/trunks",
                                  "/password", "/rosters"])
async def test_every_console_page_renders_for_a_logged_in_user(client, path):
    await client.post("/login", data={"username": "anna", "password": "correct-horse"}, allow_redirects=False)
    r = await client.get(path)
    assert r.status == 200, await r.text()
    assert "anna (dispatcher)" in await r.text()


async def test_an_unknown_item_is_not_found(client):
    await client.post("/login", data={"username": "anna", "password": "correct-horse"}, allow_redirects=False)
    assert (await client.get("/missed/abc")).status == 404
    assert (await client.get("/calls/x1")).status == 404


async def test_admin_pages_render_for_an_admin_only(client):
    await client.post("/login", data={"username": "anna", "password": "correct-horse"}, allow_redirects=False)
    assert (await client.get("/plan")).status == 403                      # anna is a dispatcher
    db = client.server.app[SERVICE].db
    await UserStore(db).add("boss", "correct-horse", "admin")
    await client.post("/logout", data={"csrf": ""})
    client.session.cookie_jar.clear()
    await client.post("/login", data={"username": "boss", "password": "correct-horse"}, allow_redirects=False)
    for path in ("/plan", "/users"):
        r = await client.get(path)
        assert r.status == 200, await r.text()
