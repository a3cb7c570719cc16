"""The queues page: who is waiting and for how long, each agent's state with buttons to log in, pause,
resume and log out, and today's numbers; the page asks for its content again every 3 s."""
from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from ivr.errors import IvrError
from ivr.i18n import _, lazy
from ivr.web.console import NAV, page, plan_timezone, render
from ivr.web.keys import PLANS, QUEUES
from ivr.terms import term


async def _snapshot(request: web.Request) -> dict:
    manager = request.app[QUEUES]
    snapshot = await manager.snapshot()
    live = request.app[PLANS].current
    names = {ext: s.name for ext, s in live.plan.staff.items()} if live else {}
    return {"queues": snapshot["queues"], "names": names}


@page
async def queues_page(request: web.Request) -> web.Response:
    return render(request, "queues.html", message=request.query.get("message", ""), tz=plan_timezone(request),
                  **await _snapshot(request))


@page
async def queues_live(request: web.Request) -> web.Response:
    return render(request, "queues_live.html", **await _snapshot(request))


@page
async def agent(request: web.Request) -> web.Response:
    ext, action = request.match_info["ext"], request.match_info["action"]
    try:
        await request.app[QUEUES].agent_action(ext, action, reason=_("from the console"))
        message = _("%(ext)s: %(action)s.", ext=ext, action=term("agent_" + action))
    except IvrError as e:
        message = e.message
    raise web.HTTPSeeOther(f"/queues?{urlencode({'message': message})}")


def setup(app: web.Application) -> None:
    app[NAV].append(("/queues", lazy("Queues")))
    app.router.add_get("/queues", queues_page)
    app.router.add_get("/queues/live", queues_live)
    app.router.add_post("/queues/agents/{ext}/{action:login|logout|pause|unpause}", agent)
