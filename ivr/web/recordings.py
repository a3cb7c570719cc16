"""Call recordings on the console (a player on the call's page) and the API (a download).

Who may listen: admin and ops every call; a dispatcher only the calls their own extension took
part in (answered, picked up, or passed on); viewers and other roles never (the route table in
ivr/web/access.py). Every fetch that succeeds is written to the audit log by its route's rule.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web

from ivr.errors import Forbidden, IvrError, NotFound
from ivr.security.roles import ADMIN, OPS
from ivr.store.calls import CallRecord
from ivr.users import User
from ivr.web.access import USER, allowed
from ivr.web.console import page, path_id
from ivr.web.keys import CALLS, RECORDER

PLAY_ROUTE = "/calls/{id}/recording"
DOWNLOAD_ROUTE = "/api/calls/{id}/recording"


class RecordingGone(IvrError):
    status_code = 410
    error_id = "recording-deleted"


def may_listen(user: User | None, call: CallRecord) -> bool:
    if user is None or not allowed(user.role, "GET", PLAY_ROUTE):
        return False
    return user.role in (ADMIN, OPS) or call.took_part(user.extension)


async def _file(request: web.Request) -> tuple[CallRecord, Path]:
    call = await request.app[CALLS].get(path_id(request))
    user = request[USER]
    if not may_listen(user, call):
        raise Forbidden(f"{user.username} may listen only to calls of their own extension "
                        f"({user.extension or 'none set'})")
    path = request.app[RECORDER].path(call.recording) if call.recording else None
    if path is None:
        raise NotFound(f"call {call.id} was not recorded")
    if not path.exists():
        if path.with_suffix(".raw").exists():
            raise NotFound(f"call {call.id} is still being recorded")
        raise RecordingGone(f"the recording of call {call.id} was deleted (retention) or lost")
    return call, path


def _response(call: CallRecord, path: Path, disposition: str) -> web.FileResponse:
    return web.FileResponse(path, headers={"Content-Type": "audio/ogg",
                                           "Content-Disposition": f'{disposition}; filename="call-{call.id}.ogg"'})


@page
async def play(request: web.Request) -> web.StreamResponse:
    return _response(*await _file(request), "inline")


async def download(request: web.Request) -> web.StreamResponse:
    return _response(*await _file(request), "attachment")


def setup(app: web.Application) -> None:
    app.router.add_get(PLAY_ROUTE, play)
    app.router.add_get(DOWNLOAD_ROUTE, download)
