"""Security against the real service process: every route of docs/security.md without credentials
and with a token of each role (made with `ivr tokens create`), a revoked token, cross-site and
text/plain writes, a session that ends at logout, and log-in throttling."""
from __future__ import annotations

import os
import asyncio
import re
import subprocess
import sys
import time

import aiohttp
from yarl import URL

from conftest import NET, PBX_IP
from ivr.config import ROOT
from ivr.security.roles import ROLES
from ivr.testing.sip_register import register

DOCS = ROOT / "docs" / "security.md"
MISSING = "999999"          # ids no test creates: an allowed write answers 404/400 and changes nothing
_ROW = re.compile(r"^\| (GET|POST|PUT|DELETE) \| `([^`]+)` \| ([^|]+) \|")


def documented_routes() -> list[tuple[str, str, set[str], bool]]:
    """(method, path, roles, own-extension-only) of each row of the docs' table, public ones excluded."""
    rows = []
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        if (m := _ROW.match(line)) and m.group(3).strip() != "public":
            roles = m.group(3).split("(")[0]
            rows.append((m.group(1), m.group(2), {r.strip() for r in roles.split(",")}, "own" in m.group(3)))
    assert len(rows) > 40, "the route table of docs/security.md was not found"
    return rows


def concrete(path: str) -> str:
    action = "pause" if "/queues/" in path else "take"
    return path.replace("{ext}", "101").replace("{command}", "start").replace("{action}", action) \
        .replace("{row}", MISSING).replace("{id}", MISSING).replace("{name}", "sources") \
        .replace("{format}", "csv").replace("{version}", "1").replace("{day}", "2026-12-07")


def ivr(base_env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "ivr.cli", *args], env={**os.environ, **base_env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def new_token(base_env: dict[str, str], name: str, role: str) -> dict[str, str]:
    secret = ivr(base_env, "tokens", "create", name, "--role", role).splitlines()[0]
    assert secret.startswith("ivr_")
    return {"Authorization": f"Bearer {secret}"}


async def call(service, method: str, path: str, headers: dict[str, str]) -> int:
    """One request with exactly these credentials (none: {}), an empty body of the route's kind."""
    body: dict = {}
    if method != "GET" and path == "/api/contacts/import":
        body = {"data": b"", "headers": {**headers, "Content-Type": "text/csv"}}
    elif method != "GET" and path.startswith("/api/"):
        body = {"json": {}}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.request(method, service.url + path, allow_redirects=False, **body) as r:
            return r.status


async def test_every_route_needs_credentials_and_the_right_role(service, base_env):
    routes = documented_routes()
    for method, path, _, _ in routes:
        status = await call(service, method, concrete(path), {})
        page = method == "GET" and not path.startswith(("/api/", "/metrics"))   # pages: to the login
        assert status == (303 if page else 401), (method, path, status)
    tokens = {role: new_token(base_env, "matrix", role) for role in ROLES}
    for method, path, roles, own in routes:
        for role, headers in tokens.items():
            status = await call(service, method, concrete(path), headers)
            if role in roles and not (own and role != "admin"):      # a token has no extension of its own
                assert status not in (401, 403), (role, method, path, status)
            else:
                assert status == 403, (role, method, path, status)


async def test_a_revoked_token_is_refused_at_once(service, base_env):
    headers = new_token(base_env, "booking", "integration")
    status, _ = await service.request("GET", f"/api/campaigns/{MISSING}", headers=headers)
    assert status == 404
    listed = ivr(base_env, "tokens", "list")
    assert "booking" in listed and "integration" in listed and "ivr_" not in listed
    ivr(base_env, "tokens", "revoke", "booking")
    status, answer = await service.request("GET", f"/api/campaigns/{MISSING}", headers=headers)
    assert status == 401 and answer["error"] == "unauthenticated"
    assert "token.revoke" in ivr(base_env, "audit", "--action", "token.revoke")


async def log_in(http: aiohttp.ClientSession, url: str, user: str, password: str) -> int:
    async with http.post(url + "/login", data={"username": user, "password": password},
                         allow_redirects=False) as r:
        return r.status


async def csrf(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url + "/missed") as r:
        return re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)


async def test_cross_site_writes_are_refused_and_logout_ends_the_session(service, base_env):
    ivr(base_env, "users", "add", "petr", "--role", "dispatcher", "--extension", "102", "--password", "petr-pass-1")
    before = (await service.get("/api/contacts"))["contacts"]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:    # unsafe: an IP host
        assert await log_in(http, service.url, "petr", "petr-pass-1") == 303
        token = await csrf(http, service.url)
        # A page on another site posts a form with the dispatcher's cookie: refused.
        async with http.post(service.url + "/api/contacts", data='{"name": "x", "numbers": ["+79160000000"]}',
                             headers={"Origin": "http://evil.example", "Content-Type": "text/plain"}) as r:
            assert r.status in (403, 415)
        async with http.post(service.url + "/api/queues/agents/102/pause",
                             headers={"Origin": "http://evil.example", "X-CSRF-Token": token}) as r:
            assert r.status == 403 and (await r.json())["error"] == "cross-site"
        # text/plain JSON from our own page is refused too: JSON endpoints take application/json only.
        async with http.post(service.url + "/api/contacts", data='{"name": "x", "numbers": ["+79160000000"]}',
                             headers={"Origin": service.url, "X-CSRF-Token": token, "Content-Type": "text/plain"}) as r:
            assert r.status == 415
        cookie = http.cookie_jar.filter_cookies(URL(service.url))["ivr_session"].value
        async with http.get(service.url + "/api/missed") as r:
            assert r.status == 200
        async with http.post(service.url + "/logout", data={"csrf": token}, headers={"Origin": service.url},
                             allow_redirects=False) as r:
            assert r.status == 303
    assert (await service.get("/api/contacts"))["contacts"] == before
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), cookies={"ivr_session": cookie}) as http:
        async with http.get(service.url + "/api/missed") as r:
            assert r.status == 401                       # the copied cookie died with the logout


async def test_repeated_wrong_passwords_are_throttled(service, base_env):
    # From an address of our own, so the lock does not touch other tests' log-ins from 127.0.0.1.
    connector = aiohttp.TCPConnector(local_addr=(f"{NET}.60", 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        statuses = [await log_in(http, service.url, "nobody-here", f"guess-{i}") for i in range(5)]
        assert statuses == [401] * 5
        async with http.post(service.url + "/login", data={"username": "nobody-here", "password": "x"}) as r:
            first = int(r.headers["Retry-After"])
            assert r.status == 429 and "Too many failed log-ins" in await r.text()
        # another user name from the same address is refused too
        async with http.post(service.url + "/login", data={"username": "admin", "password": "x"}) as r:
            assert r.status == 429
    assert "throttled" in ivr(base_env, "audit", "--action", "login")
    assert 0 < first <= 30


async def test_sip_brute_force_from_one_address_is_blocked_while_another_registers(service, pbx, plan, stack_dir):
    attacker, office = f"{NET}.60", f"{NET}.61"
    password = plan.staff["103"].password
    assert await register(attacker, PBX_IP, 5060, "103", password) == 200      # a query: no binding changes
    for i in range(5):
        assert await register(attacker, PBX_IP, 5060, "103", f"guess-{i}-Xy") in (401, 403)
    acl = stack_dir / "pbx" / "etc" / "pjsip_blocked.conf"
    deadline = time.monotonic() + 10
    while attacker not in (acl.read_text() if acl.exists() else ""):
        assert time.monotonic() < deadline, "the attacker's address was never blocked"
        await asyncio.sleep(0.3)
    # Blocked now even with the right password; the office next door still registers.
    deadline = time.monotonic() + 10
    while await register(attacker, PBX_IP, 5060, "103", password, timeout=1) == 200:
        assert time.monotonic() < deadline, "res_pjsip never took the block"
        await asyncio.sleep(0.5)
    assert await register(office, PBX_IP, 5060, "103", password) == 200
    assert "sip address blocked address=" + attacker in service.log_path.read_text()
