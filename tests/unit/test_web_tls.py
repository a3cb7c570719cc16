"""The console over HTTPS: the tls_cert / tls_key settings load a real certificate, the guard still
answers, and half or broken settings are refused naming the setting."""
from __future__ import annotations

import dataclasses
import subprocess

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ivr.config import load_settings
from ivr.errors import ConfigError
from ivr.security.local import local_url
from ivr.security.tls import server_context
from ivr.service import IvrService
from ivr.store.db import open_database
from ivr.users import UserStore
from ivr.web.app import create_app


@pytest.fixture
def settings(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=pbx.test",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)
    return dataclasses.replace(load_settings(env={}), var_dir=str(tmp_path), tls_cert=str(tmp_path / "cert.pem"),
                               tls_key=str(tmp_path / "key.pem"), public_url="https://pbx.test:8443",
                               database_url=f"sqlite+aiosqlite:///{tmp_path}/ivr.db")


async def test_the_console_serves_https_and_still_asks_for_credentials(settings):
    db = await open_database(settings.database_url, settings)
    runner = web.AppRunner(create_app(IvrService(settings, db)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(settings))
    await site.start()
    url = f"https://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "/status", ssl=False) as r:
                assert r.status == 503 and (await r.json())["ari_connected"] is False    # no Asterisk here
            async with http.get(url + "/api/calls", ssl=False) as r:
                assert r.status == 401
            with pytest.raises(aiohttp.ClientError):                                    # not plain HTTP
                await http.get(url.replace("https:", "http:") + "/status")
    finally:
        await runner.cleanup()
        await db.close()
    assert local_url(settings) == "http://127.0.0.1:8081"        # the AGI and `ivr` stay on loopback


def test_half_or_broken_tls_settings_are_refused(settings, tmp_path):
    with pytest.raises(ConfigError, match="set both"):
        server_context(dataclasses.replace(settings, tls_key=""))
    with pytest.raises(ConfigError, match="tls_key: .* does not exist"):
        server_context(dataclasses.replace(settings, tls_key=str(tmp_path / "none.pem")))
    with pytest.raises(ConfigError, match="do not load"):
        server_context(dataclasses.replace(settings, tls_key=settings.tls_cert))
    assert server_context(dataclasses.replace(settings, tls_cert="", tls_key="")) is None


async def test_an_https_public_url_makes_the_cookie_secure(settings):
    db = await open_database(settings.database_url, settings)
    await UserStore(db).add("anna", "correct-horse", "dispatcher")
    client = TestClient(TestServer(create_app(IvrService(settings, db))))
    await client.start_server()
    try:
        r = await client.post("/login", data={"username": "anna", "password": "correct-horse"}, allow_redirects=False)
        assert r.status == 303 and "Secure" in r.headers["Set-Cookie"] and "SameSite=Strict" in r.headers["Set-Cookie"]
    finally:
        await client.close()
        await db.close()
