"""The web guard through the real aiohttp app on SQLite: credentials, roles from the one table,
cross-site writes, body types, server-side sessions, token revocation, throttling and the audit log."""
from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ivr.clock import utc_now
from ivr.config import ROOT, load_settings
from ivr.missed.store import MissedCall, MissedStore
from ivr.security.audit import AuditLog
from ivr.security.roles import ROLES
from ivr.security.tokens import TokenStore
from ivr.service import IvrService
from ivr.store.calls import CallStore
from ivr.store.db import open_database
from ivr.testing.credentials import bearer, same_origin
from ivr.users import UserStore
from ivr.web import access
from ivr.web.app import create_app

DOCS = ROOT / "docs" / "security.md"


@pytest.fixture
async def env(tmp_path: Path):
    settings = dataclasses.replace(load_settings(env={}), var_dir=str(tmp_path),
                                   database_url=f"sqlite+aiosqlite:///{tmp_path}/ivr.db")
    db = await open_database(settings.database_url, settings)
    await UserStore(db).add("anna", "correct-horse", "dispatcher", extension="101")
    app = create_app(IvrService(settings, db))
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client, db, app
    await client.close()
    await db.close()


def concrete(path: str) -> str:
    """A route's template with its parts filled in: ids 1, actions and extensions by example."""
    return path.replace("{ext}", "101").replace("{command}", "start").replace("{action}", "pause") \
        .replace("{row}", "1").replace("{id}", "1").replace("{name}", "sources").replace("{format}", "csv") \
        .replace("{version}", "1").replace("{day}", "2026-12-07")


async def login(client: TestClient, username: str = "anna", password: str = "correct-horse"):
    return await client.post("/login", data={"username": username, "password": password}, allow_redirects=False)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_the_docs_show_the_table_the_guard_enforces():
    text = DOCS.read_text(encoding="utf-8")
    start, end = "<!-- routes: generated from ivr/web/access.py -->\n", "<!-- /routes -->"
    assert text[text.index(start) + len(start):text.index(end)] == access.markdown_table(), \
        "docs/security.md is out of date: run .venv/bin/python -m ivr.web.access"


async def test_every_route_of_the_app_has_a_rule_or_is_public(env):
    _, _, app = env
    routes = {(r.method, r.resource.canonical) for r in app.router.routes() if r.method != "HEAD"}
    listed = {(r.method, r.path) for r in access.RULES} | set(access.PUBLIC)
    assert routes - listed == set(), ("routes without a rule are admin-only: add them to RULES in "
                                      "ivr/web/access.py, then run .venv/bin/python -m ivr.web.access")
    assert listed - routes == set(), "rules for routes the app does not have"
    assert {role for r in access.RULES for role in r.roles} <= set(ROLES)


@pytest.mark.parametrize("rule", access.RULES, ids=lambda r: f"{r.method} {r.path}")
async def test_without_credentials_nothing_answers(env, rule):
    client, _, _ = env
    r = await client.request(rule.method, concrete(rule.path), allow_redirects=False)
    if rule.method == "GET" and not rule.path.startswith(("/api/", "/metrics")):    # pages: to the login
        assert r.status == 303 and r.headers["Location"].startswith("/login?next="), rule
    else:
        assert r.status == 401, rule
        assert (await r.json())["error"] == "unauthenticated"


async def test_each_role_is_allowed_or_refused_as_the_table_says(env):
    client, db, _ = env
    for role in ROLES:
        headers = await bearer(db, role)
        for rule in access.RULES:
            if rule.method != "GET" or "voicemail" in rule.path:
                continue                  # writes change state; the integration test drives them all
            r = await client.get(concrete(rule.path), headers=headers, allow_redirects=False)
            if role == "admin" or role in rule.roles:
                assert r.status not in (401, 403), (role, rule.path, r.status)
            else:
                assert r.status == 403, (role, rule.path, r.status)
                assert (await r.json())["error"] == "forbidden"


def test_a_route_without_a_rule_is_admin_only():
    assert access.rule_for("GET", "/some/new/page") is access.ADMIN_ONLY
    assert not access.allowed("ops", "POST", "/api/new") and access.allowed("admin", "POST", "/api/new")


async def test_wrong_roles_are_refused_on_writes(env):
    client, db, _ = env
    r = await client.post("/api/plan/reload", headers=await bearer(db, "dispatcher"))
    assert r.status == 403 and (await r.json())["details"]["allowed"] == ["admin"]
    r = await client.post("/api/campaigns", json={"rows": []}, headers=await bearer(db, "dispatcher"))
    assert r.status == 403
    r = await client.post("/api/queues/agents/102/pause", headers=await login_headers(client))
    assert r.status == 403                     # anna is 101: not someone else's queue state


async def login_headers(client: TestClient) -> dict[str, str]:
    """anna's session: the cookie is in the jar; her CSRF token and our origin as a page would send."""
    await login(client)
    page = await (await client.get("/missed")).text()
    return {"X-CSRF-Token": csrf_of(page), **same_origin(str(client.make_url("/")))}


async def test_text_plain_json_is_refused_even_with_a_token(env):
    client, db, _ = env
    r = await client.post("/api/campaigns", data='{"rows": []}', headers={
        **await bearer(db, "integration"), "Content-Type": "text/plain"})
    assert r.status == 415 and (await r.json())["error"] == "unsupported-media-type"


async def test_cookie_writes_need_our_origin_and_the_csrf_token(env):
    client, _, _ = env
    good = await login_headers(client)
    foreign = {**good, "Origin": "https://evil.example"}
    r = await client.post("/api/queues/agents/101/pause", headers=foreign)
    assert r.status == 403 and (await r.json())["error"] == "cross-site"
    no_origin = {"X-CSRF-Token": good["X-CSRF-Token"]}
    assert (await client.post("/api/queues/agents/101/pause", headers=no_origin)).status == 403
    no_token = same_origin(str(client.make_url("/")))
    assert (await client.post("/api/queues/agents/101/pause", headers=no_token)).status == 403
    # A cross-site form post to a console action: refused before the action runs.
    r = await client.post("/missed/1/take", data={"csrf": good["X-CSRF-Token"]},
                          headers={"Origin": "http://evil.example"}, allow_redirects=False)
    assert r.status == 403


async def test_the_cookie_is_httponly_and_strict(env):
    client, _, _ = env
    r = await login(client)
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie


async def test_logout_ends_the_session_on_the_server(env):
    client, _, _ = env
    headers = await login_headers(client)
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["ivr_session"].value
    r = await client.post("/logout", data={"csrf": headers["X-CSRF-Token"]},
                          headers=same_origin(str(client.make_url("/"))), allow_redirects=False)
    assert r.status == 303
    client.session.cookie_jar.update_cookies({"ivr_session": cookie}, response_url=client.make_url("/"))
    assert (await client.get("/api/missed")).status == 401          # the copied cookie is worth nothing


async def test_a_password_change_ends_every_session(env):
    client, db, _ = env
    await login(client)
    assert (await client.get("/api/missed")).status == 200
    await UserStore(db).set_password("anna", "another-horse")
    assert (await client.get("/api/missed")).status == 401


async def test_own_password_change_needs_the_current_one_and_ends_the_other_sessions(env):
    client, db, app = env
    other = TestClient(TestServer(app))            # the same user logged in elsewhere
    await other.start_server()
    try:
        await login(other)
        await login(client)
        csrf = csrf_of(await (await client.get("/password")).text())
        origin = same_origin(str(client.make_url("/")))

        async def change(current: str, new: str, again: str | None = None) -> str:
            r = await client.post("/password", data={"csrf": csrf, "current": current, "new": new,
                                                     "again": new if again is None else again},
                                  headers=origin, allow_redirects=False)
            assert r.status == 303, r.status
            return r.headers["Location"]
        assert "wrong" in await change("not-the-password", "another-horse-42")
        assert "differ" in await change("correct-horse", "another-horse-42", "another-horse-43")
        assert "weak" in await change("correct-horse", "1234")
        assert (await other.get("/api/missed")).status == 200
        assert "changed" in await change("correct-horse", "another-horse-42")
        assert (await other.get("/api/missed")).status == 401      # the other session ended
        assert (await client.get("/api/missed")).status == 200     # this browser got a fresh one
        assert await UserStore(db).authenticate("anna", "another-horse-42") is not None
    finally:
        await other.close()


async def test_a_revoked_token_is_refused_at_once(env):
    client, db, _ = env
    tokens = TokenStore(db)
    token, secret = await tokens.create("booking", "integration", utc_now())
    headers = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/campaigns/1", headers=headers)).status == 404     # allowed; no such campaign
    await tokens.revoke("booking", utc_now())
    r = await client.get("/api/campaigns/1", headers=headers)
    assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await client.get("/api/calls", headers={"Authorization": "Bearer ivr_guess"})).status == 401


async def test_repeated_failures_are_throttled_for_a_growing_time(env):
    client, db, app = env
    app[access.THROTTLE].limit = 3
    for _ in range(3):
        assert (await login(client, password="wrong")).status == 401
    r = await login(client, password="correct-horse")
    assert r.status == 429 and 25 <= int(r.headers["Retry-After"]) <= 30
    assert "Too many failed log-ins" in await r.text()
    throttle = app[access.THROTTLE]
    keys = ("user:anna", "addr:127.0.0.1")
    assert throttle.failed(keys, 0) == 60 and throttle.failed(keys, 0) == 120      # doubling
    entries = await AuditLog(db).list(action="login")
    assert [e.outcome for e in entries] == ["throttled", "failed", "failed", "failed"]


async def test_audited_actions_are_recorded_with_who(env):
    client, db, _ = env
    await client.post("/api/plan/reload", headers=await bearer(db, "admin", name="ci"))
    await login(client)
    [reload] = await AuditLog(db).list(action="plan.reload")
    assert (reload.actor, reload.target) == ("token:ci-admin", "/api/plan/reload")
    [entry] = await AuditLog(db).list(action="login")
    assert (entry.actor, entry.outcome, entry.address) == ("anna", "ok", "127.0.0.1")


async def test_status_is_public_and_says_little(env):
    client, _, _ = env
    body = await (await client.get("/status")).json()
    assert set(body) == {"ari_connected", "plan_version", "calls_in_progress", "now"}


async def test_status_of_a_cluster_instance_lists_the_nodes_it_serves_by_name(tmp_path: Path):
    # node2's instance that took node1 over: the list reads the same as node1's instance serving both.
    settings = dataclasses.replace(load_settings(env={}), var_dir=str(tmp_path), node_name="node2",
                                   database_url=f"sqlite+aiosqlite:///{tmp_path}/ivr.db")
    db = await open_database(settings.database_url, settings)
    service = IvrService(settings, db)
    service.also_serving = lambda: ["node1"]
    service.ari._connected.set()
    client = TestClient(TestServer(create_app(service)))
    await client.start_server()
    try:
        body = await (await client.get("/status")).json()
    finally:
        await client.close()
        await db.close()
    assert body["nodes"] == ["node1", "node2"]


async def test_bad_json_and_big_bodies_are_clear_4xx(env):
    client, db, _ = env
    headers = {**await bearer(db, "integration"), "Content-Type": "application/json"}
    r = await client.post("/api/campaigns", data=b"{not json", headers=headers)
    assert r.status == 400 and (await r.json())["error"] == "invalid-input"
    r = await client.post("/api/campaigns", data=b"x" * (7 * 1024 * 1024), headers=headers)
    assert r.status == 413


async def test_behind_a_trusted_proxy_the_forwarded_address_is_throttled(tmp_path):
    settings = dataclasses.replace(load_settings(env={}), var_dir=str(tmp_path), trusted_proxies="127.0.0.1",
                                   database_url=f"sqlite+aiosqlite:///{tmp_path}/ivr.db")
    db = await open_database(settings.database_url, settings)
    await UserStore(db).add("anna", "correct-horse", "dispatcher")
    client = TestClient(TestServer(create_app(IvrService(settings, db))))
    await client.start_server()
    try:
        proxied = {"X-Forwarded-For": "192.0.2.1, 10.0.0.5"}      # the proxy appended 10.0.0.5
        for _ in range(5):
            await client.post("/login", data={"username": "x", "password": "y"}, headers=proxied,
                              allow_redirects=False)
        r = await client.post("/login", data={"username": "anna", "password": "correct-horse"}, headers=proxied,
                              allow_redirects=False)
        assert r.status == 429                                  # the user behind the proxy is locked ...
        assert (await login(client)).status == 303              # ... not everyone coming through it
        entries = await AuditLog(db).list(action="login")
        assert {e.address for e in entries} == {"10.0.0.5", "127.0.0.1"}
    finally:
        await client.close()
        await db.close()


async def test_missed_take_and_close_are_by_the_caller_not_the_body(env):
    """A dispatcher's body cannot name someone else; an admin (or the system) may act for someone."""
    client, db, _ = env
    at = utc_now() - timedelta(minutes=5)
    call_id = await CallStore(db).start("ch-take", "+79161000001", "+74951110000", "main-line", 1, at)

    async def quiet(*_):
        pass
    item = await MissedStore(db).add_missed(MissedCall(call_id, "+79161000001", "+74951110000", "main-line", "",
                                                       at, "closed_hours", "main", False), at, quiet)
    desk, boss = await bearer(db, "dispatcher", "desk"), await bearer(db, "admin", "boss")
    r = await client.post(f"/api/missed/{item.id}/take", json={"by": "somebody-else"}, headers=desk)
    assert r.status == 200 and (await r.json())["taken_by"] == "token:desk-dispatcher"
    r = await client.post(f"/api/missed/{item.id}/close", json={"by": "anna", "reason": "done"}, headers=boss)
    assert r.status == 200 and (await r.json())["closed_by"] == "anna"
