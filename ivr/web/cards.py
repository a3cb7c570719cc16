"""Call cards: who is calling a staff phone that rings or talks now.

    GET /api/cards?extension=101      the cards on that extension (JSON)
    GET /call-cards                   the logged-in user's cards as an HTML fragment, polled by
                                      every console page (base.html) when the user has an extension,
                                      with "Transfer to…" for a call the user's phone talks in
"""
from __future__ import annotations

import re

from aiohttp import web

from ivr.errors import InvalidInput
from ivr.web import transfer
from ivr.web.console import USER, page, render
from ivr.web.keys import CARDS

_EXTENSION = re.compile(r"^[0-9A-Za-z+*#_.-]{1,40}$")


async def api_cards(request: web.Request) -> web.Response:
    extension = request.query.get("extension", "")
    if not _EXTENSION.match(extension):
        raise InvalidInput(f"extension: {extension!r} is not an extension", {"field": "extension"})
    shown = request.app[CARDS].for_extension(extension)
    return web.json_response({"extension": extension, "cards": [s.to_dict() for s in shown]})


@page
async def my_cards(request: web.Request) -> web.Response:
    extension = request[USER].extension
    shown = request.app[CARDS].for_extension(extension) if extension else []
    response = render(request, "cards.html", cards=shown, **transfer.panel(request, extension))
    response.headers["Cache-Control"] = "no-store"
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/api/cards", api_cards)
    app.router.add_get("/call-cards", my_cards)
