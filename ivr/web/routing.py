"""Outbound routing over HTTP: GET /api/route (the decision for a number, on live counts; the staff
AGI script asks it with phone= and dial=1) and GET /api/reports/trunks."""
from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr.asterisk.process import AsteriskError
from ivr.asterisk.render import pbx_instance
from ivr.calls.recording import Started
from ivr.clock import parse_aware
from ivr.errors import InvalidInput
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
    answer = decision.to_dict()
    if dial and phone and (record := await _staff_recording(request, phone, request.query.get("channel", ""))):
        answer["record"] = record
    return web.json_response(answer)


async def _staff_recording(request: web.Request, phone: str, channel: str) -> dict[str, str] | None:
    """For a phone whose outside calls are recorded: the file and MixMonitor's arguments the dialplan
    starts on the callee's channel (the customer's side, so left is the customer as in inbound calls)."""
    service = request.app[SERVICE]
    live = service.plans.current
    staff = live.plan.staff.get(phone) if live else None
    if staff is None or not staff.record or not channel or service.services.recorder is None:
        return None
    plan = live.plan
    started = service.clock.now().astimezone(ZoneInfo(plan.timezone))
    prepared = await service.services.recorder.prepare(channel, started, plan.recording.stereo)
    if not isinstance(prepared, Started):
        return None
    return {"name": prepared.name, "arguments": prepared.arguments}


async def get_trunk_report(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    router = service.services.router
    raw = request.query.get("since")
    since = parse_aware(raw, "since") if raw else None
    report = await asyncio.to_thread(trunk_report, cdr_path(pbx_instance(service.settings)),
                                     router.plan(), router.lookup, since)
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
        trunks, trouble = watch.states, f"Asterisk is not answering ({e.message}); the last check is shown."
    return render(request, "trunks.html", trunks=trunks, trouble=trouble)


def setup(app: web.Application) -> None:
    app[NAV].append(("/trunks", "Trunks"))
    app.router.add_get("/trunks", trunks_page)
    app.router.add_get("/api/trunks", get_trunks)
    app.router.add_get("/api/route", get_route)
    app.router.add_get("/api/reports/trunks", get_trunk_report)
