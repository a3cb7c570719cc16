"""Home: today so far (calls, answered, missed, customers not yet reached, median time to call
back), the queues now (waiting, longest wait) and the staff now (free, on a call, ringing, paused,
offline). The page asks /dashboard/live for its numbers again every 5 s."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr.ari.client import AriError
from ivr.i18n import lazy
from ivr.plan.reasons import MISSED_OUTCOMES
from ivr.missed.report import stats
from ivr.web.console import NAV, page, plan_timezone, render
from ivr.web.keys import SERVICE

ANSWERED = frozenset({"answered", "queue_callback"})
# Asterisk device states in one word for people.
PHONE_STATES = {"NOT_INUSE": "free", "INUSE": "talking", "BUSY": "talking", "ONHOLD": "talking",
                "RINGING": "ringing", "RINGINUSE": "ringing"}


@dataclass(frozen=True)
class Today:
    calls: int
    answered: int
    missed: int
    not_reached: int                  # customers whose missed calls nobody has closed yet
    median_callback: float | None     # seconds from the first missed call to the call-back, today


def start_of_day(now: datetime, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


async def today(service, tz: ZoneInfo) -> Today:
    now = service.clock.now()
    since = start_of_day(now, tz)
    calls = [c for c in await service.calls.list(limit=100_000, since=since, steps=False) if c.direction == "inbound"]
    store = service.services.missed.store
    pending = await store.list(status=None, include_short=False, limit=10_000)
    first_today = [i for i in await store.between(since, now) if not i.short]
    return Today(calls=len(calls), answered=sum(1 for c in calls if c.outcome in ANSWERED),
                 missed=sum(1 for c in calls if c.outcome in MISSED_OUTCOMES),
                 not_reached=sum(1 for i in pending if i.status != "closed"),
                 median_callback=stats("today", first_today).median_seconds)


async def queues_now(service, tz: ZoneInfo) -> list[dict]:
    snapshot = await service.services.queues.snapshot(start_of_day(service.clock.now(), tz))
    return [{"id": q["id"], "waiting": len(q["waiting"]),
             "longest": max((w["waited_seconds"] for w in q["waiting"]), default=0.0),
             "agents": q["agents"], "stats": q["stats"]} for q in snapshot["queues"]]


async def staff_now(service) -> list[dict]:
    live = service.plans.current
    if live is None:
        return []
    manager, people = service.services.queues, []
    for ext, staff in live.plan.staff.items():
        try:
            state = PHONE_STATES.get(await service.ari.device_state(f"PJSIP/{ext}"), "offline")
        except AriError:
            state = "offline"
        if state == "free" and ext in manager.agents and manager.agents[ext].paused:
            state = "paused"
        people.append({"extension": ext, "name": staff.name, "state": state})
    return people


async def _numbers(request: web.Request) -> dict:
    service, tz = request.app[SERVICE], plan_timezone(request)
    people = await staff_now(service)
    counts = {s: sum(1 for p in people if p["state"] == s) for s in ("free", "talking", "ringing", "paused", "offline")}
    return {"today": await today(service, tz), "queues": await queues_now(service, tz), "staff": people,
            "staff_counts": counts, "now": service.clock.now()}


@page
async def home(request: web.Request) -> web.Response:
    return render(request, "dashboard.html", **await _numbers(request))


@page
async def live(request: web.Request) -> web.Response:
    return render(request, "dashboard_live.html", **await _numbers(request))


async def api_dashboard(request: web.Request) -> web.Response:
    """GET /api/dashboard: the home page's numbers."""
    numbers = await _numbers(request)
    return web.json_response({"today": asdict(numbers["today"]), "queues": numbers["queues"],
                              "staff": numbers["staff"], "now": numbers["now"].isoformat()})


def setup(app: web.Application) -> None:
    app[NAV].insert(0, ("/", lazy("Today")))
    app.router.add_get("/", home)
    app.router.add_get("/dashboard/live", live)
    app.router.add_get("/api/dashboard", api_dashboard)
