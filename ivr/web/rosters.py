"""On-duty rosters from the API and the console.

    GET  /api/rosters                   every roster of the plan: who is on duty now, and the next days
    POST /api/rosters/{name}/{day}      {"extension": "103"} on duty that duty day; "" back to the plan
    GET  /rosters                       console: the next days of each roster, a form per day
    POST /rosters/{name}/{day}          console form (extension=103, or empty)
"""
from __future__ import annotations

from aiohttp import web

from ivr.errors import InvalidInput
from ivr.staff.rosters import Rosters, parse_day
from ivr.web import parse
from ivr.web.console import NAV, USER, page, render
from ivr.web.keys import PLANS, ROSTERS

DAYS_SHOWN = 14


def _rosters(request: web.Request) -> Rosters:
    return request.app[ROSTERS]


async def list_rosters(request: web.Request) -> web.Response:
    return web.json_response({"rosters": await _rosters(request).overview(DAYS_SHOWN)})


async def set_duty(request: web.Request) -> web.Response:
    data = await parse.json_object(request)
    if not isinstance(data.get("extension"), str):
        raise InvalidInput('extension: expected a staff extension or "" (as planned), e.g. {"extension": "103"}')
    day = parse_day(request.match_info["day"], "day")
    duty = await _rosters(request).set(request.match_info["name"], day, data["extension"].strip(),
                                       request[USER].username)
    return web.json_response(duty.to_dict())


@page
async def rosters_page(request: web.Request) -> web.Response:
    live = request.app[PLANS].current
    staff = sorted(live.plan.staff.values(), key=lambda s: s.extension) if live else []
    return render(request, "rosters.html", rosters=await _rosters(request).overview(DAYS_SHOWN), staff=staff)


@page
async def rosters_set(request: web.Request) -> web.Response:
    form = await request.post()
    day = parse_day(request.match_info["day"], "day")
    await _rosters(request).set(request.match_info["name"], day, str(form.get("extension") or "").strip(),
                                request[USER].username)
    raise web.HTTPSeeOther("/rosters")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/rosters", list_rosters)
    app.router.add_post("/api/rosters/{name}/{day}", set_duty)
    app.router.add_get("/rosters", rosters_page)
    app.router.add_post("/rosters/{name}/{day}", rosters_set)
    app[NAV].append(("/rosters", "On duty"))
