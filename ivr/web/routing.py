"""Outbound routing over HTTP: GET /api/route (the decision for a number, on live counts; the staff
AGI script asks it with phone= and dial=1) and GET /api/reports/trunks[?since=ISO&until=ISO]."""
from __future__ import annotations

from aiohttp import web

from ivr.asterisk.process import AsteriskError
from ivr.errors import InvalidInput
from ivr.i18n import _, lazy
from ivr.web.console import NAV, page, render
from ivr.web import parse
from ivr.web.keys import ROUTER, STAFF_RECORDING, TRUNK_REPORTS, TRUNKS


async def get_route(request: web.Request) -> web.Response:
    number = request.query.get("number", "")
    if not number:
        raise InvalidInput("number: give the number to route, e.g. ?number=89161234567")
    phone = request.query.get("phone") or None
    dial = request.query.get("dial") == "1"
    decision = await request.app[ROUTER].route(number, phone=phone, dial=dial)
    answer = decision.to_dict()
    if dial and phone and (record := await request.app[STAFF_RECORDING].for_call(phone,
                                                                                  request.query.get("channel", ""))):
        answer["record"] = record
    return web.json_response(answer)


async def get_trunk_report(request: web.Request) -> web.Response:
    report = await request.app[TRUNK_REPORTS].between(parse.query_time(request, "since"),
                                                      parse.query_time(request, "until"))
    return web.json_response(report)


async def get_trunks(request: web.Request) -> web.Response:
    """Each trunk's registration, channels in use and last failure, checked now."""
    states = await request.app[TRUNKS].check_once()
    return web.json_response({"trunks": [s.to_dict() for s in states]})


@page
async def trunks_page(request: web.Request) -> web.Response:
    watch = request.app[TRUNKS]
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
