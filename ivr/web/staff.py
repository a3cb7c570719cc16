"""Staff phones: do-not-disturb from the API and the console.

    GET  /api/staff                     every staff phone of the plan: name, DND, who set it and when
    POST /api/staff/{ext}/dnd           {"on": true|false, "by": "olga"}
    GET  /phones                        console: the phones and their state, a DND switch each
    POST /phones/{ext}/dnd              console form (on=1|0)
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from ivr.errors import InvalidInput
from ivr.i18n import lazy
from ivr.staff.dnd import DoNotDisturb
from ivr.web.console import NAV, USER, page, render
from ivr.web.keys import SERVICE


def _dnd(request: web.Request) -> DoNotDisturb:
    return request.app[SERVICE].services.dnd


def _phones(request: web.Request) -> list[dict[str, Any]]:
    live = request.app[SERVICE].plans.current
    staff = live.plan.staff if live else {}
    dnd = _dnd(request)
    return [{"name": s.name, **dnd.state(ext).to_dict()} for ext, s in sorted(staff.items())]


async def list_staff(request: web.Request) -> web.Response:
    return web.json_response({"staff": _phones(request)})


async def set_dnd(request: web.Request) -> web.Response:
    try:
        data = await request.json() if request.can_read_body else {}
    except ValueError:
        raise InvalidInput("the request body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("on"), bool):
        raise InvalidInput('on: expected true or false, e.g. {"on": true}')
    by = data.get("by") or "api"
    if not isinstance(by, str):
        raise InvalidInput("by: expected a name")
    state = await _dnd(request).set(request.match_info["ext"], data["on"], by)
    return web.json_response(state.to_dict())


@page
async def phones_page(request: web.Request) -> web.Response:
    return render(request, "phones.html", phones=_phones(request))


@page
async def phones_dnd(request: web.Request) -> web.Response:
    form = await request.post()
    await _dnd(request).set(request.match_info["ext"], form.get("on") == "1", request[USER].username)
    raise web.HTTPSeeOther("/phones")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/staff", list_staff)
    app.router.add_post("/api/staff/{ext}/dnd", set_dnd)
    app.router.add_get("/phones", phones_page)
    app.router.add_post("/phones/{ext}/dnd", phones_dnd)
    app[NAV].append(("/phones", lazy("Phones")))
