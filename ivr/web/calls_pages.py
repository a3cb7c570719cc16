"""Console pages of the call log."""
from __future__ import annotations

from aiohttp import web

from ivr.i18n import lazy
from ivr.web.access import USER
from ivr.web.console import NAV, page, path_id, render
from ivr.web.keys import CALLS
from ivr.web.recordings import may_listen

OUTCOMES = ("answered", "hung_up_in_greeting", "abandoned_in_menu", "abandoned_while_ringing", "no_answer",
            "closed_hours", "holiday", "voicemail", "menu_no_choice", "ended_by_plan", "unknown_number")



@page
async def calls_page(request: web.Request) -> web.Response:
    outcome = request.query.get("outcome") or None
    if outcome is not None and outcome not in OUTCOMES:
        outcome = None
    calls = await request.app[CALLS].list(limit=200, outcome=outcome, steps=False)
    return render(request, "calls.html", calls=calls, outcomes=OUTCOMES, outcome=outcome or "")


@page
async def call_page(request: web.Request) -> web.Response:
    call = await request.app[CALLS].get(path_id(request))
    return render(request, "call.html", call=call, listen=bool(call.recording) and may_listen(request.get(USER), call))


def setup(app: web.Application) -> None:
    app[NAV].append(("/calls", lazy("Calls")))
    app.router.add_get("/calls", calls_page)
    app.router.add_get("/calls/{id}", call_page)
