"""The console's "Transfer to…": pass the caller of a call in conversation on, from the console.

    POST /api/calls/{id}/transfer   {"to": "102" | "+79161234567" | "<hunt or queue node id>"}
    POST /calls/{id}/transfer       the same from the form on the call-cards panel (`to`)

A user may pass on only a call their own extension is talking in (admin: any call). The call's
own task does the transfer (ivr.flows.talk); ivr/flows/transfer_asks.py checks and asks, and the
handler answers 202.
"""
from __future__ import annotations

from aiohttp import web

from ivr.errors import InvalidInput
from ivr.security.roles import ADMIN
from ivr.web import parse
from ivr.web.access import USER
from ivr.web.console import page
from ivr.web.keys import TRANSFERS


def _to(raw: object, example: str = "") -> str:
    if not isinstance(raw, str) or not 0 < len(raw.strip()) <= 40:
        raise InvalidInput(f"to: expected an extension, a number or a node id{example}", {"field": "to"})
    return raw


def ask(request: web.Request, call_id: int, to: str) -> dict[str, str]:
    user = request[USER]
    return request.app[TRANSFERS].ask(call_id, to, user.username, user.extension, any_call=user.role == ADMIN)


async def api_transfer(request: web.Request) -> web.Response:
    call_id = parse.path_int(request, "id", "call id")
    to = _to((await parse.json_object(request)).get("to"), ', e.g. {"to": "102"}')
    return web.json_response({"call": call_id, **ask(request, call_id, to)}, status=202)


@page
async def form_transfer(request: web.Request) -> web.Response:
    call_id = parse.path_int(request, "id", "call id")
    ask(request, call_id, _to(str((await request.post()).get("to", ""))))
    raise web.HTTPSeeOther(request.headers.get("Referer") or "/")


def panel(request: web.Request, extension: str) -> dict[str, list]:
    """For the call-cards panel: the calls `extension` talks in, and what they may go to."""
    return request.app[TRANSFERS].panel(extension)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/calls/{id}/transfer", api_transfer)
    app.router.add_post("/calls/{id}/transfer", form_transfer)
