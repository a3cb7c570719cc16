"""aiohttp application: one error middleware turns IvrError into JSON, one guard decides who may
call what (ivr/web/access.py); /status for health."""
from __future__ import annotations

import logging

from aiohttp import web

from ivr.errors import IvrError
from ivr.service import IvrService
from ivr.security.audit import AuditLog
from ivr.security.sessions import SessionStore
from ivr.security.tokens import TokenStore
from ivr.users import UserStore
from ivr.web import (access, audit_pages, calls_pages, campaign_new, campaign_pages, cards, console, dashboard, metrics,
                    missed_pages, plan_pages, queue_pages, recordings, reports_pages, users_pages)
from ivr.web import campaigns as campaigns_web
from ivr.web import missed as missed_api
from ivr.web import queues as queue_routes
from ivr.web import rosters as rosters_web
from ivr.web import routing
from ivr.web import voicemail as voicemail_web
from ivr.web import staff as staff_web
from ivr.web import keys, parse
from ivr.web import transfer as transfer_web
from ivr.web.keys import CALLS, SERVICE
from ivr.web.sessions import Sessions

log = logging.getLogger(__name__)


@web.middleware
async def errors(request: web.Request, handler):
    try:
        return await handler(request)
    except IvrError as e:
        return web.json_response({"error": e.error_id, "message": e.message, "details": e.details},
                                 status=e.status_code, headers=getattr(e, "headers", None))


async def status(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    live = service.plans.current
    # Public (health checks): nothing about callers; a load figure, and the clock (is the office open?).
    body = {"ari_connected": service.ari.connected, "plan_version": live.version if live else None,
            "calls_in_progress": len(service.supervisor.tasks),    # a load figure for health checks
            "now": service.clock.now().isoformat()}       # the service's clock (fixed in demos and tests)
    if service.settings.node_name:
        # In a cluster: the nodes whose calls this instance serves now (its own, and any taken over),
        # by name, so the list says the same thing whichever instance took over which node.
        body["nodes"] = sorted(([service.settings.node_name] if service.ari.connected else [])
                               + service.also_serving())
        body["handing_back"] = service.handing_back()      # of those, going back to their own instance
    return web.json_response(body, status=200 if service.ari.connected else 503)


async def list_calls(request: web.Request) -> web.Response:
    calls = await request.app[CALLS].list(limit=parse.limit(request), since=parse.query_time(request, "since"),
                                          outcome=request.query.get("outcome") or None)
    return web.json_response({"calls": [c.to_dict() for c in calls]})


async def get_call(request: web.Request) -> web.Response:
    call = await request.app[CALLS].get(parse.path_int(request, "id", "call id"))
    return web.json_response(call.to_dict())


async def plan_reload(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    ok = await service.reload_plan()
    live = service.plans.current
    return web.json_response({"reloaded": ok, "version": live.version if live else None},
                             status=200 if ok else 422)


# The largest body a request may have (a contact CSV import is the biggest); more is a 413.
MAX_BODY_BYTES = 6 * 1024 * 1024


def create_app(service: IvrService) -> web.Application:
    app = web.Application(middlewares=[errors], client_max_size=MAX_BODY_BYTES)
    keys.install(app, service)
    app.router.add_get("/status", status)
    app.router.add_get("/api/calls", list_calls)
    app.router.add_get("/api/calls/{id}", get_call)
    app.router.add_post("/api/plan/reload", plan_reload)
    public_url = service.settings.public_url
    access.setup(app, UserStore(service.db), Sessions(SessionStore(service.db), public_url.startswith("https:")),
                 TokenStore(service.db), AuditLog(service.db), public_url, service.settings.trusted_proxies)
    console.setup(app)
    audit_pages.setup(app)
    calls_pages.setup(app)
    recordings.setup(app)
    campaigns_web.setup(app)
    routing.setup(app)
    missed_api.setup(app)
    missed_pages.setup(app)
    campaign_new.setup(app)          # before campaign_pages: /campaigns/new is not a campaign id
    campaign_pages.setup(app)
    queue_routes.setup(app)
    cards.setup(app)
    metrics.setup(app)
    queue_pages.setup(app)
    plan_pages.setup(app)
    users_pages.setup(app)
    reports_pages.setup(app)
    staff_web.setup(app)
    rosters_web.setup(app)
    voicemail_web.setup(app)
    transfer_web.setup(app)
    dashboard.setup(app)             # last: "Today" goes first in the navigation
    return app
