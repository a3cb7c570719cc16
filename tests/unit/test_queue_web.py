"""GET /api/queues and the agent actions, on a real QueueManager and database (no Asterisk)."""
from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ivr.ari.bus import EventBus
from ivr.plan.model import Plan, QueueNode, Staff
from ivr.queues.manager import QueueManager
from ivr.store import Database
from ivr.store.queues import QueueEntry, QueueStore
from ivr.web import queues as queue_routes
from ivr.web.app import errors
from ivr.web.keys import SERVICE

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)          # 12:00 in Moscow


def plan() -> Plan:
    line = QueueNode(id="line", agents=("101", "102"), strategy="linear", penalties={"102": 1})
    return Plan(company="c", timezone="Europe/Moscow", country="RU", language="ru", languages=("ru",),
                ring_seconds=5, short_call_seconds=3, numbers={}, schedules={},
                staff={e: Staff(e, e, "pw") for e in ("101", "102")}, fallback=(), nodes={"line": line})


async def client_for(db: Database) -> tuple[TestClient, QueueManager]:
    manager = QueueManager(EventBus(), QueueStore(db), lambda: NOW, plan)
    app = web.Application(middlewares=[errors])
    app[SERVICE] = SimpleNamespace(services=SimpleNamespace(queues=manager))
    queue_routes.setup(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client, manager


async def test_queues_show_line_agents_and_todays_statistics(db: Database):
    store = QueueStore(db)
    await store.add_entry(QueueEntry(queue="line", joined_at=NOW.replace(hour=6), outcome="answered",
                                     wait_seconds=12, agent="101", talk_seconds=90))
    # Yesterday evening in Moscow: outside today's default window.
    await store.add_entry(QueueEntry(queue="line", joined_at=NOW.replace(hour=0, day=24, minute=30),
                                     outcome="abandoned", wait_seconds=5))
    client, manager = await client_for(db)
    try:
        manager.join(plan().nodes["line"], "+79160000001", "c1", 1)
        r = await client.get("/api/queues")
        assert r.status == 200
        body = await r.json()
        assert body["since"] == "2026-11-25T00:00:00+03:00"
        [line] = body["queues"]
        assert line["id"] == "line" and line["strategy"] == "linear"
        assert [(w["position"], w["caller"], w["ringing"]) for w in line["waiting"]] == [(1, "+79160000001", ["101"])]
        assert [(a["extension"], a["status"], a["penalty"]) for a in line["agents"]] == \
            [("101", "ringing", 0), ("102", "idle", 1)]
        assert (line["stats"]["answered"], line["stats"]["abandoned"]) == (1, 0)
        assert line["stats"]["agents"] == {"101": {"calls": 1, "talk_seconds": 90.0}}
        wider = await (await client.get("/api/queues", params={"since": "2026-11-24T00:00:00+03:00"})).json()
        assert wider["queues"][0]["stats"]["abandoned"] == 1
        # An end date: yesterday only (the callers who joined before today's midnight).
        yesterday = await (await client.get("/api/queues", params={"since": "2026-11-24T00:00:00+03:00",
                                                                   "until": "2026-11-25T00:00:00+03:00"})).json()
        assert yesterday["until"] == "2026-11-25T00:00:00+03:00"
        assert (yesterday["queues"][0]["stats"]["abandoned"], yesterday["queues"][0]["stats"]["answered"]) == (1, 0)
        bad = await client.get("/api/queues", params={"since": "yesterday"})
        assert bad.status == 400 and (await bad.json())["error"] == "invalid-input"
    finally:
        await client.close()
        await manager.stop()


async def test_agent_actions_change_and_store_the_state(db: Database):
    client, manager = await client_for(db)
    try:
        r = await client.post("/api/queues/agents/102/pause", params={"reason": "lunch"})
        assert r.status == 200
        assert (await r.json())["status"] == "paused"
        assert (await QueueStore(db).agents())["102"].reason == "lunch"
        r = await client.post("/api/queues/agents/102/logout")
        assert (await r.json())["status"] == "logged_out"
        r = await client.post("/api/queues/agents/999/login")
        assert r.status == 404 and (await r.json())["error"] == "unknown-agent"
        r = await client.post("/api/queues/agents/101/nap")
        assert r.status == 400 and (await r.json())["error"] == "invalid-agent-action"
        r = await client.get("/api/queues/callbacks")
        assert (await r.json()) == {"callbacks": []}
    finally:
        await client.close()
        await manager.stop()
