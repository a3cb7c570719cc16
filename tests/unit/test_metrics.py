"""GET /metrics: Prometheus text with the service's live numbers and the database's counts."""
from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ivr.routing.trunk_status import TrunkState
from ivr.store import Database
from ivr.missed.store import MissedStore
from ivr.store.calls import CallStore
from ivr.web import metrics
from ivr.web.keys import SERVICE

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


async def test_metrics_show_calls_trunks_queues_and_ari(db: Database):
    calls = CallStore(db)
    first = await calls.start("c1", "+79160000001", "+74951112233", "ads", 1, NOW)
    await calls.finish(first, NOW, "answered")
    await calls.start("c2", "+79160000002", "+74951112233", "ads", 1, NOW)
    app = web.Application()
    app[SERVICE] = SimpleNamespace(
        calls=calls, supervisor=SimpleNamespace(tasks={"c2": None}), ari=SimpleNamespace(connected=True),
        services=SimpleNamespace(queues=SimpleNamespace(queues={"line": SimpleNamespace(waiting=[1, 2])}),
                                 missed=SimpleNamespace(store=MissedStore(db))),
        trunks=SimpleNamespace(states=[TrunkState("reg", "register", "Rejected", 0),
                                       TrunkState("alaw", "peer", "", 3)]))
    metrics.setup(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        r = await client.get("/metrics")
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
        text = await r.text()
    finally:
        await client.close()
    lines = set(text.splitlines())
    for line in ('ivr_calls_in_progress 1.0', 'ivr_calls_total{outcome="answered"} 1.0',
                 'ivr_calls_total{outcome="in_progress"} 1.0', 'ivr_missed_open 0.0',
                 'ivr_queue_waiting{queue="line"} 2.0', 'ivr_trunk_registered{kind="register",trunk="reg"} 0.0',
                 'ivr_trunk_registered{kind="peer",trunk="alaw"} 1.0', 'ivr_trunk_channels{trunk="alaw"} 3.0',
                 'ivr_ari_connected 1.0'):
        assert line in lines, text
    assert any(line.startswith("ivr_event_loop_lag_seconds ") for line in lines)
