"""aiohttp application: one error middleware turns IvrError into JSON; /status for health."""
from __future__ import annotations

import logging
from datetime import datetime

from aiohttp import web

from ivr.clock import parse_aware
from ivr.errors import InvalidInput, IvrError
from ivr.service import IvrService
from ivr.users import UserStore
from ivr.web import calls_pages, campaign_pages, cards, console, missed_pages
from ivr.web import campaigns as campaigns_web
from ivr.web import missed as missed_api
from ivr.web import queues as queue_routes
from ivr.web import routing
from ivr.web import staff as staff_web
from ivr.web.keys import SERVICE
from ivr.web.sessions import Sessions, load_secret

log = logging.getLogger(__name__)


@web.middleware
async def errors(request: web.Request, handler):
    try:
        return await handler(request)
    except IvrError as e:
        return web.json_response({"error": e.error_id, "message": e.message, "details": e.details},
                                 status=e.status_code)


async def status(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    live = service.plans.current
    body = {"ari_connected": service.ari.connected, "calls_in_progress": len(service.supervisor.tasks),
            "plan_version": live.version if live else None}
    return web.json_response(body, status=200 if service.ari.connected else 503)


def _since(request: web.Request) -> datetime | None:
    raw = request.query.get("since")
    return parse_aware(raw, "since") if raw else None


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise InvalidInput(f"limit: {raw!r} must be a whole number from 1 to 1000")
    return int(raw)


async def list_calls(request: web.Request) -> web.Response:
    calls = await request.app[SERVICE].calls.list(limit=_limit(request), since=_since(request),
                                                   outcome=request.query.get("outcome") or None)
    return web.json_response({"calls": [c.to_dict() for c in calls]})


async def get_call(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    if not raw.isdigit():
        raise InvalidInput(f"call id {raw!r} is not a number")
    call = await request.app[SERVICE].calls.get(int(raw))
    return web.json_response(call.to_dict())


async def plan_reload(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    ok = await service.reload_plan()
    live = service.plans.current
    return web.json_response({"reloaded": ok, "version": live.version if live else None},
                             status=200 if ok else 422)


def create_app(service: IvrService) -> web.Application:
    app = web.Application(middlewares=[errors])
    app[SERVICE] = service
    app.router.add_get("/status", status)
    app.router.add_get("/api/calls", list_calls)
    app.router.add_get("/api/calls/{id}", get_call)
    app.router.add_post("/api/plan/reload", plan_reload)
    secret = load_secret(service.settings.var / "console-secret")
    console.setup(app, UserStore(service.db), Sessions(secret, service.settings.public_url.startswith("https:")))
    calls_pages.setup(app)
    campaigns_web.setup(app)
    routing.setup(app)
    missed_api.setup(app)
    missed_pages.setup(app)
    campaign_pages.setup(app)
    queue_routes.setup(app)
    cards.setup(app)
    staff_web.setup(app)
    return app
