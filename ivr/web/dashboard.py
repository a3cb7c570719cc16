"""Home: today so far (calls, answered, missed, customers not yet reached, median time to call
back), the queues now (waiting, longest wait) and the staff now (free, on a call, ringing, paused,
offline). The page asks /dashboard/live for its numbers again every 5 s."""
from __future__ import annotations

from dataclasses import asdict

from aiohttp import web

from ivr.i18n import lazy
from ivr.web.console import NAV, page, render
from ivr.web.keys import DASHBOARD


async def _numbers(request: web.Request) -> dict:
    """The numbers as the templates' context."""
    return vars(await request.app[DASHBOARD].numbers())


@page
async def home(request: web.Request) -> web.Response:
    return render(request, "dashboard.html", **await _numbers(request))


@page
async def live(request: web.Request) -> web.Response:
    return render(request, "dashboard_live.html", **await _numbers(request))


async def api_dashboard(request: web.Request) -> web.Response:
    """GET /api/dashboard: the home page's numbers."""
    numbers = await request.app[DASHBOARD].numbers()
    return web.json_response({"today": asdict(numbers.today), "queues": numbers.queues,
                              "staff": numbers.staff, "now": numbers.now.isoformat()})


def setup(app: web.Application) -> None:
    app[NAV].insert(0, ("/", lazy("Today")))
    app.router.add_get("/", home)
    app.router.add_get("/dashboard/live", live)
    app.router.add_get("/api/dashboard", api_dashboard)
