"""Personal voicemail from the API.

    GET  /api/voicemail/{ext}           the box's messages: new first, then old (the owner or ops)
"""
from __future__ import annotations

from aiohttp import web

from ivr.web.keys import VOICEMAIL


async def list_messages(request: web.Request) -> web.Response:
    boxes = request.app[VOICEMAIL]
    box = request.match_info["ext"]
    boxes.owner(box)                              # 404 for an extension without a box
    messages = await boxes.messages(box)
    return web.json_response({"box": box, "new": sum(m.new for m in messages),
                              "messages": [m.to_dict() for m in messages]})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/voicemail/{ext}", list_messages)
