"""The console shows staff phones' do-not-disturb and callers' display names, escaped."""
from __future__ import annotations

from datetime import UTC, datetime

from ivr.flows.inbound import display_name
from ivr.web.keys import SERVICE
from test_console import client  # noqa: F401 (a fixture)

NAME = 'Иван <script>alert(1)</script> "Петров"'


def test_display_names_are_cleaned():
    assert display_name("Иван\r\nBcc: x@y", "+79161234567") == "Иван Bcc: x@y"
    assert display_name("+79161234567", "+79161234567") == ""
    assert display_name("79161234567", "+79161234567") == ""
    assert len(display_name("x" * 300, "")) == 100


async def test_display_name_on_the_calls_pages_is_escaped(client):  # noqa: F811
    service = client.server.app[SERVICE]
    call_id = await service.calls.start("ch-1", "+79161234567", "+74951110000", "ad", None,
                                        datetime(2026, 11, 25, 8, 0, tzinfo=UTC), caller_name=NAME)
    assert (await service.calls.get(call_id)).to_dict()["caller_name"] == NAME
    await client.post("/login", data={"username": "anna", "password": "correct-horse"}, allow_redirects=False)
    for path in ("/calls", f"/calls/{call_id}"):
        text = await (await client.get(path)).text()
        assert "Иван &lt;script&gt;alert(1)&lt;/script&gt; &#34;Петров&#34;" in text, path
        assert "<script>alert(1)" not in text


async def test_phones_page_without_a_plan(client):  # noqa: F811
    await client.post("/login", data={"username": "anna", "password": "correct-horse"}, allow_redirects=False)
    r = await client.get("/phones")
    assert r.status == 200 and "No staff phones in the plan." in await r.text()
