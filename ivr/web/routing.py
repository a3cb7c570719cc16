"""Outbound routing over HTTP: GET /api/route (the decision for a number, on live counts; the staff
AGI script asks it with phone= and dial=1) and GET /api/reports/trunks[?since=ISO&until=ISO]."""
from __future__ import annotations

import asyncio

from aiohttp import web

from ivr.asterisk.process import AsteriskError
from ivr.asterisk.render import pbx_instance
from ivr.clock import parse_aware
from ivr.errors import InvalidInput
from ivr.i18n import _, lazy
from ivr.routing.report import cdr_path, trunk_report
from ivr.web.console import NAV, page, render
from ivr.web.keys import SERVICE


async def get_route(request: web.Request) -> web.Response:
    number = request.query.get("number", "")
    if not number:
        raise InvalidInput("number: give the number to route, e.g. ?number=89161234567")
    phone = request.query.get("phone") or None
    dial = request.query.get("dial") == "1"
    router = request.app[SERVICE].services.router
    decision = await router.route(number, phone=phone, dial=dial)
    return web.json_response(decision.to_dict())


async def get_trunk_report(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    router = service.services.router
    since, until = (parse_aware(request.query[k], k) if request.query.get(k) else None for k in ("since", "until"))
    report = await asyncio.to_thread(trunk_report, cdr_path(pbx_instance(service.settings)),
                                     router.plan(), router.lookup, since, until)
    return web.json_response(report)


async def get_trunks(request: web.Request) -> web.Response:
    """Each trunk's registration, channels in use and last failure, checked now."""
    states = await request.app[SERVICE].trunks.check_once()
    return web.json_response({"trunks": [s.to_dict() for s in states]})


@page
async def trunks_page(request: web.Request) -> web.Response:
    watch = request.app[SERVICE].trunks
    try:
        trunks, trouble = await watch.check_once(), ""
    except AsteriskError as e:
        trunks, trouble = watch.states, _("Asterisk is not answering (%(error)s); the last check is shown.",
                                             error=e.message)
    return render(request, "trunks.html", trunks=trunks, trouble=trouble)


def setup(app: web.Application) -> None:
    app[NAV].append(("/trunks", lazy("Trunks")))
    app.router.add_get("/trunks", trunks_page)
    app.router.add_get("/api/trunks", get_trunks)
    app.router.add_get("/api/route", get_route)
    app.router.add_get("/api/reports/trunks", get_trunk_report)
