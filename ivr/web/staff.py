"""Staff phones: do-not-disturb from the API and the console.

    GET  /api/staff                     every staff phone of the plan: name, DND, who set it and when
    POST /api/staff/{ext}/dnd           {"on": true|false, "by": "olga"}
    GET  /phones                        console: the phones and their state, a DND switch each
    POST /phones/{ext}/dnd              console form (on=1|0)
"""
from __future__ import annotations

from aiohttp import web

from ivr.errors import InvalidInput
from ivr.i18n import lazy
from ivr.web.console import NAV, USER, page, render
from ivr.web import parse
from ivr.web.keys import STAFF


async def list_staff(request: web.Request) -> web.Response:
    return web.json_response({"staff": request.app[STAFF].phones()})


async def set_dnd(request: web.Request) -> web.Response:
    data = await parse.json_object(request)
    if not isinstance(data.get("on"), bool):
        raise InvalidInput('on: expected true or false, e.g. {"on": true}')
    by = data.get("by") or "api"
    if not isinstance(by, str):
        raise InvalidInput("by: expected a name")
    state = await request.app[STAFF].set(request.match_info["ext"], data["on"], by)
    return web.json_response(state.to_dict())


@page
async def phones_page(request: web.Request) -> web.Response:
    return render(request, "phones.html", phones=request.app[STAFF].phones())


@page
async def phones_dnd(request: web.Request) -> web.Response:
    form = await request.post()
    await request.app[STAFF].set(request.match_info["ext"], form.get("on") == "1", request[USER].username)
    raise web.HTTPSeeOther("/phones")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/staff", list_staff)
    app.router.add_post("/api/staff/{ext}/dnd", set_dnd)
    app.router.add_get("/phones", phones_page)
    app.router.add_post("/phones/{ext}/dnd", phones_dnd)
    app[NAV].append(("/phones", lazy("Phones")))
