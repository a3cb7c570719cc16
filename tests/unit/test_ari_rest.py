"""The ARI client against a local aiohttp server that answers as Asterisk would: the paths, query
values and bodies it sends, the errors it maps, and events from the websocket."""
from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
from aiohttp import WSMsgType, web

from ivr.ari.client import AriClient, AriConflict, AriError, ChannelGone
from ivr.ari.events import WANTED, Event, StasisStart, Unhandled, decode
from ivr.errors import ServiceUnavailable

HOST = "127.0.40.250"      # this session's test net

CHANNEL = {"id": "c1", "name": "PJSIP/trunk-1", "state": "Up", "caller": {"number": "+79161234567", "name": "Ivan"},
           "dialplan": {"exten": "s", "context": "from-trunk", "app_data": "ivr,inbound,+74951110000"},
           "language": "ru"}


class FakeAsterisk:
    """`ws_requests`: also answers requests sent on the event websocket, as Asterisk 22.4+ does."""

    def __init__(self, ws_requests: bool = False) -> None:
        self.ws_requests = ws_requests
        self.seen: list[tuple[str, str, dict[str, str], object]] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.auth: list[str] = []
        app = web.Application()
        app.router.add_get("/ari/events", self.events)
        app.router.add_route("*", "/ari/{tail:.*}", self.rest)
        self.runner = web.AppRunner(app)
        self.port = 0

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, HOST, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]       # type: ignore[union-attr]

    async def rest(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        self.auth.append(request.headers.get("Authorization", ""))
        status, answer = self.answer(request.method, request.raw_path.split("?")[0], dict(request.query), body)
        return web.json_response(answer, status=status) if answer is not None else web.Response(status=status)

    def answer(self, method: str, path: str, query: dict[str, str], body: object) -> tuple[int, object]:
        self.seen.append((method, path, query, body))
        if "gone" in path:
            return 404, {"message": "Channel not found"}
        if "busy" in path:
            return 409, {"message": "Channel not in Stasis application"}
        if "broken" in path:
            return 400, {"message": "Invalid media"}
        if method == "GET" and path == "/ari/channels":
            return 200, [CHANNEL]
        if method == "GET" and path.startswith("/ari/deviceStates/"):
            return 200, {"name": "PJSIP/101", "state": "INUSE"}
        if method == "GET" and path.endswith("/variable"):
            return 200, {"value": "42"}
        if method == "POST" and path in ("/ari/channels/c9", "/ari/channels/create"):
            return 200, {**CHANNEL, "id": "c9", "state": "Down"}
        return 204, None

    async def ws_request(self, ws: web.WebSocketResponse, message: dict) -> None:
        path = message["uri"].partition("?")[0]
        query = {q["name"]: q["value"] for q in message.get("query_strings", [])}
        body = json.loads(message["message_body"]) if "message_body" in message else None
        status, answer = self.answer(message["method"], "/ari/" + path, query, body)
        await ws.send_str(json.dumps({
            "type": "RESTResponse", "request_id": message["request_id"], "status_code": status,
            "uri": message["uri"], **({"message_body": json.dumps(answer)} if answer is not None else {})}))

    async def events(self, request: web.Request) -> web.WebSocketResponse:
        self.seen.append(("WS", "/ari/events", dict(request.query), None))
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_str(json.dumps({"type": "StasisStart", "channel": CHANNEL, "args": ["inbound", "+74951110000"]}))
        await ws.send_str("not json")
        await ws.send_str(json.dumps({"type": "ChannelDtmfReceived", "channel": CHANNEL, "digit": "1",
                                      "duration_ms": 100}))
        async for msg in ws:
            if msg.type == WSMsgType.CLOSE:
                break
            message = json.loads(msg.data)
            if self.ws_requests and message.get("type") == "RESTRequest":
                await self.ws_request(ws, message)
        return ws

    async def stop(self) -> None:
        for ws in self.sockets:
            await ws.close()
        await self.runner.cleanup()


@contextlib.asynccontextmanager
async def connected(events: list[Event] | None = None, on_connect=None, ws_requests: bool = False):
    asterisk = FakeAsterisk(ws_requests)
    await asterisk.start()
    got: list[Event] = events if events is not None else []
    client = AriClient(f"http://{HOST}:{asterisk.port}", "ivr", "secret", "ivr", on_event=got.append,
                       on_connect=on_connect, backoff=(0.05, 0.1), wanted=WANTED)
    task = asyncio.create_task(client.run_forever())
    try:
        await client.wait_connected(5)
        yield client, asterisk
    finally:
        task.cancel()
        await asyncio.wait([task])
        await asterisk.stop()


@pytest.mark.parametrize("ws_requests", [False, True], ids=["http", "websocket"])
async def test_operations_send_the_paths_query_and_bodies_ari_documents(ws_requests: bool) -> None:
    async with connected(ws_requests=ws_requests) as (ari, asterisk):
        await ari.answer("c1")
        await ari.play("c1", ["sound:welcome", "sound:menu"], "c1-pb1", lang="ru")
        await ari.stop_playback("c1-pb1")
        await ari.record("c1", "vm-1", beep=True)
        await ari.hangup("c1")
        info = await ari.originate("PJSIP/101", "c9", "hunt,c1", variables={"CALLERID(name)": "Ivan"})
        assert await ari.device_state("PJSIP/101") == "INUSE"
        assert await ari.get_var("c1", "DIALSTATUS") == "42"
        assert [c.id for c in await ari.list_channels()] == ["c1"]
        await ari.reload_module("res_pjsip.so")
    assert info.id == "c9" and info.state == "Down"
    seen = asterisk.seen[1:]
    if ws_requests:       # the probe that found requests are taken on the websocket
        assert seen.pop(0) == ("GET", "/ari/asterisk/ping", {}, None)
    # then, before calls are picked up: only the event types the service reads
    assert seen.pop(0) == ("PUT", "/ari/applications/ivr/eventFilter", {},
                           {"allowed": [{"type": kind} for kind in WANTED]})
    assert seen == [
        ("POST", "/ari/channels/c1/answer", {}, None),
        ("POST", "/ari/channels/c1/play/c1-pb1", {"media": "sound:welcome,sound:menu", "lang": "ru"}, None),
        ("DELETE", "/ari/playbacks/c1-pb1", {}, None),
        ("POST", "/ari/channels/c1/record", {"name": "vm-1", "format": "wav", "maxDurationSeconds": "0",
                                             "maxSilenceSeconds": "0", "beep": "true", "terminateOn": "none",
                                             "ifExists": "overwrite"}, None),
        ("DELETE", "/ari/channels/c1", {"reason": "normal"}, None),
        ("POST", "/ari/channels/c9", {"endpoint": "PJSIP/101", "app": "ivr", "appArgs": "hunt,c1",
                                      "timeout": "30"}, {"variables": {"CALLERID(name)": "Ivan"}}),
        ("GET", "/ari/deviceStates/PJSIP%2F101", {}, None),
        ("GET", "/ari/channels/c1/variable", {"variable": "DIALSTATUS"}, None),
        ("GET", "/ari/channels", {}, None),
        ("PUT", "/ari/asterisk/modules/res_pjsip.so", {}, None),
    ]
    assert asterisk.seen[0] == ("WS", "/ari/events", {"app": "ivr", "api_key": "ivr:secret"}, None)
    assert set(asterisk.auth) == (set() if ws_requests else {"Basic aXZyOnNlY3JldA=="})


@pytest.mark.parametrize("ws_requests", [False, True], ids=["http", "websocket"])
async def test_http_errors_become_telephony_errors(ws_requests: bool) -> None:
    async with connected(ws_requests=ws_requests) as (ari, _):
        with pytest.raises(ChannelGone):
            await ari.answer("gone")
        assert await ari.playback_exists("gone-pb1") is False
        assert await ari.playback_exists("c1-pb1") is True
        with pytest.raises(AriConflict):
            await ari.continue_in_dialplan("busy", "from-trunk", "s")
        with pytest.raises(AriError, match="HTTP 400 Invalid media") as refused:
            await ari.play("broken", ["sound:x"], "broken-pb1")
        assert refused.value.status == 400


async def test_events_arrive_decoded_and_a_bad_message_is_skipped() -> None:
    events: list[Event] = []
    connects = []

    async def on_connect() -> None:
        connects.append(True)

    async with connected(events, on_connect):
        for _ in range(100):
            if len(events) == 2:
                break
            await asyncio.sleep(0.02)
    assert connects == [True]
    assert isinstance(events[0], StasisStart) and events[0].args == ("inbound", "+74951110000")
    assert events[0].channel.caller_number == "+79161234567"
    assert [e.type for e in events] == ["StasisStart", "ChannelDtmfReceived"]


async def test_without_a_connection_an_operation_says_asterisk_is_unavailable() -> None:
    ari = AriClient(f"http://{HOST}:9", "ivr", "secret", "ivr", on_event=lambda e: None, backoff=(0.05, 0.1))
    with pytest.raises(ServiceUnavailable):
        await ari.answer("c1")
    task = asyncio.create_task(ari.run_forever())     # nobody listens: it keeps retrying, quietly
    await asyncio.sleep(0.2)
    assert not ari.connected and not task.done()
    task.cancel()
    await asyncio.wait([task])


async def test_requests_waiting_on_the_websocket_fail_when_it_closes() -> None:
    async with connected(ws_requests=True) as (ari, asterisk):
        asterisk.ws_requests = False          # Asterisk stops answering, then goes away
        pending = asyncio.ensure_future(ari.answer("c1"))
        await asyncio.sleep(0.05)
        for ws in asterisk.sockets:
            await ws.close()
        with pytest.raises(ServiceUnavailable):
            await asyncio.wait_for(pending, 5)


def test_the_event_filter_asks_for_what_decode_reads_and_leaves_out_playback_starts() -> None:
    for kind in WANTED:
        if kind != "RESTResponse":
            assert not isinstance(decode({"type": kind, "channel": CHANNEL}), Unhandled), kind
    assert not {"PlaybackStarted", "PlaybackContinuing", "ChannelVarset"} & set(WANTED)
