"""Queue routes: live lines, agents and statistics; agent login/logout/pause/unpause.

    GET  /api/queues[?since=ISO&until=ISO]        every queue of the plan: waiting, agents, stats
    POST /api/queues/agents/{ext}/{action}        action: login, logout, pause, unpause (?reason=)
    GET  /api/queues/callbacks[?limit=N]          the latest call-back requests
"""
from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr.clock import parse_aware
from ivr.errors import InvalidInput
from ivr.queues.manager import QueueManager
from ivr.web.keys import SERVICE


def start_of_day(manager: QueueManager) -> datetime:
    """Midnight of today in the plan's time zone: the default window of the statistics."""
    plan = manager.plan()
    zone = ZoneInfo(plan.timezone) if plan else None
    now = manager.clock().astimezone(zone) if zone else manager.clock()
    return datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)


async def list_queues(request: web.Request) -> web.Response:
    manager = _manager(request)
    raw, end = request.query.get("since"), request.query.get("until")
    since = parse_aware(raw, "since") if raw else start_of_day(manager)
    return web.json_response(await manager.snapshot(since, parse_aware(end, "until") if end else None))


async def agent_action(request: web.Request) -> web.Response:
    manager = _manager(request)
    ext, action = request.match_info["ext"], request.match_info["action"]
    agent = await manager.agent_action(ext, action, reason=request.query.get("reason", ""))
    return web.json_response(manager.agent_dict(agent.extension))


async def list_callbacks(request: web.Request) -> web.Response:
    raw = request.query.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise InvalidInput(f"limit: {raw!r} must be a whole number from 1 to 1000")
    records = await _manager(request).store.callbacks(int(raw))
    return web.json_response({"callbacks": [
        {"id": r.id, "queue": r.queue, "number": r.number, "call_id": r.call_id, "vip": r.vip,
         "joined_at": r.joined_at.isoformat(), "requested_at": r.requested_at.isoformat(), "status": r.status,
         "attempts": r.attempts, "last_result": r.last_result, "agent": r.agent,
         "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None} for r in records]})


def _manager(request: web.Request) -> QueueManager:
    return request.app[SERVICE].services.queues


def setup(app: web.Application) -> None:
    app.router.add_get("/api/queues", list_queues)
    app.router.add_get("/api/queues/callbacks", list_callbacks)
    app.router.add_post("/api/queues/agents/{ext}/{action}", agent_action)
