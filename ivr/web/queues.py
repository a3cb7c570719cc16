"""Queue routes: live lines, agents and statistics; agent login/logout/pause/unpause.

    GET  /api/queues[?since=ISO&until=ISO]        every queue of the plan: waiting, agents, stats
    POST /api/queues/agents/{ext}/{action}        action: login, logout, pause, unpause (?reason=)
    GET  /api/queues/callbacks[?limit=N]          the latest call-back requests
"""
from __future__ import annotations

from aiohttp import web

from ivr.web import parse
from ivr.web.keys import QUEUES


async def list_queues(request: web.Request) -> web.Response:
    since, until = parse.query_time(request, "since"), parse.query_time(request, "until")
    return web.json_response(await request.app[QUEUES].snapshot(since, until))


async def agent_action(request: web.Request) -> web.Response:
    manager = request.app[QUEUES]
    ext, action = request.match_info["ext"], request.match_info["action"]
    agent = await manager.agent_action(ext, action, reason=request.query.get("reason", ""))
    return web.json_response(manager.agent_dict(agent.extension))


async def list_callbacks(request: web.Request) -> web.Response:
    records = await request.app[QUEUES].store.callbacks(parse.limit(request))
    return web.json_response({"callbacks": [
        {"id": r.id, "queue": r.queue, "number": r.number, "call_id": r.call_id, "vip": r.vip,
         "joined_at": r.joined_at.isoformat(), "requested_at": r.requested_at.isoformat(), "status": r.status,
         "attempts": r.attempts, "last_result": r.last_result, "agent": r.agent,
         "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None} for r in records]})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/queues", list_queues)
    app.router.add_get("/api/queues/callbacks", list_callbacks)
    app.router.add_post("/api/queues/agents/{ext}/{action}", agent_action)
