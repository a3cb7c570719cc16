"""The plan page (administrators): the live version, every version with who applied it and when, the
difference between any two, a new plan uploaded or pasted and checked with each problem shown next to its
line, applied (stored as a new version, live for new calls) or the previous version rolled back."""
from __future__ import annotations

import difflib
from zoneinfo import ZoneInfo
from urllib.parse import urlencode

from aiohttp import web

from ivr.config import Settings
from ivr.errors import IvrError
from ivr.i18n import _, lazy
from ivr.plan.errors import PlanError
from ivr.plan.live import PlanHolder
from ivr.plan.schedule import parse_local_datetime
from ivr.plan.trace import trace
from ivr.routing.numbers import normalize
from ivr.sounds.generate import prompt_texts
from ivr.web.console import NAV, USER, page, render
from ivr.staff.rosters import Rosters
from ivr.web.keys import PLANS, SERVICE

PASTED = "plan.yaml"                  # how problems of a pasted plan name their file


def check(plans: PlanHolder, text: str):
    """(plan, []) when the text is a usable plan, else (None, its problems)."""
    try:
        return plans.validate_text(text, PASTED), []
    except PlanError as e:
        return None, e.problems


def annotated(text: str, problems) -> list[tuple[int, str, list]]:
    """Each line with its number and the problems found on it."""
    by_line: dict[int, list] = {}
    for p in problems:
        by_line.setdefault(p.line, []).append(p)
    return [(n, line, by_line.get(n, [])) for n, line in enumerate(text.splitlines() or [""], start=1)]


async def _versions(request: web.Request):
    return await request.app[PLANS].store.list()


@page
async def plan_page(request: web.Request) -> web.Response:
    versions = await _versions(request)
    diff = []
    a, b = request.query.get("a", ""), request.query.get("b", "")
    if a.isdigit() and b.isdigit():
        store = request.app[PLANS].store
        old, new = await store.get(int(a)), await store.get(int(b))
        diff = list(difflib.unified_diff(old.text.splitlines(), new.text.splitlines(), f"v{a}", f"v{b}", lineterm=""))
    return render(request, "plan.html", versions=versions, diff=diff, a=a, b=b, text="", lines=None, ok=None,
                  problems=[], message=request.query.get("message", ""), trace_lines=[], attempt={})


@page
async def plan_check(request: web.Request) -> web.Response:
    """action=check shows the problems beside the lines; action=apply stores it when it has none."""
    service = request.app[SERVICE]
    form = await request.post()
    upload = form.get("file")
    text = upload.file.read().decode("utf-8-sig", errors="replace") if hasattr(upload, "file") else ""
    text = text if text.strip() else str(form.get("text") or "")
    plan, problems = check(service.plans, text)
    trace_lines = []
    if plan is not None and form.get("action") == "try":
        trace_lines = await _try(service.settings, service.services.rosters, plan, form)
    if plan is not None and form.get("action") == "apply":
        version = await service.plans.store.save(text, "console", plan.checksum, request[USER].username)
        live = await service.reload_plan()
        message = _("Version %(n)s is live for new calls.", n=version) if live else \
            _("Version %(n)s is stored, but the service kept the running plan: see its log.", n=version)
        raise web.HTTPSeeOther(f"/plan?{urlencode({'message': message})}")
    return render(request, "plan.html", http_status=200 if plan else 422, versions=await _versions(request),
                  diff=[], a="", b="", text=text, lines=annotated(text, problems), ok=plan is not None,
                  problems=problems, message="", trace_lines=trace_lines, attempt=dict(form))


async def _try(settings: Settings, rosters: Rosters, plan, form) -> list[str]:
    """The path of a call through the checked plan (what `ivr plan try` prints)."""
    try:
        at = parse_local_datetime(str(form.get("at") or ""), ZoneInfo(plan.timezone))
        to = normalize(str(form.get("to") or ""), plan.country)
    except IvrError as e:
        return [e.message]
    texts = prompt_texts(settings)
    try:
        duty = await rosters.duty_map(plan, at)
    except IvrError:
        duty = {}                      # the database is away: the plan's own rosters
    return [str(s) for s in trace(plan, to, at, str(form.get("digits") or ""), str(form.get("from") or ""),
                                  lambda lang, name: texts.get(f"{lang}/{name}"), duty)]


@page
async def plan_rollback(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    running = service.plans.current
    try:
        version = await service.plans.store.rollback()
        if await service.reload_plan():
            message = _("Version %(n)s is live again.", n=version.version)
        else:
            # A broken plan never replaces a working one, not even in the database: the next start
            # of the service would refuse it.
            if running is not None:
                await service.plans.store.activate(running.version)
            message = _("Version %(n)s no longer passes the checks (see the service's log); version %(m)s stays live.",
                        n=version.version, m=running.version if running else "-")
    except IvrError as e:
        message = e.message
    raise web.HTTPSeeOther(f"/plan?{urlencode({'message': message})}")


@page
async def plan_text(request: web.Request) -> web.Response:
    raw = request.match_info["version"]
    version = await request.app[PLANS].store.get(int(raw))
    return web.Response(text=version.text, content_type="text/plain", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="plan-v{version.version}.yaml"'})


def setup(app: web.Application) -> None:
    app[NAV].append(("/plan", lazy("Plan")))
    app.router.add_get("/plan", plan_page)
    app.router.add_post("/plan/check", plan_check)
    app.router.add_post("/plan/rollback", plan_rollback)
    app.router.add_get("/plan/versions/{version:\\d+}.yaml", plan_text)
