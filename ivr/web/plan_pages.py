"""The plan page (administrators): the live version, every version with who applied it and when, the
difference between any two, a new plan uploaded or pasted and checked with each problem shown next to its
line, applied (stored as a new version, live for new calls) or the previous version rolled back."""
from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from ivr.errors import IvrError
from ivr.i18n import _, lazy
from ivr.plan_changes import PlanChanges
from ivr.web.console import NAV, USER, page, render
from ivr.web.keys import PLAN_CHANGES


def annotated(text: str, problems) -> list[tuple[int, str, list]]:
    """Each line with its number and the problems found on it."""
    by_line: dict[int, list] = {}
    for p in problems:
        by_line.setdefault(p.line, []).append(p)
    return [(n, line, by_line.get(n, [])) for n, line in enumerate(text.splitlines() or [""], start=1)]


def _changes(request: web.Request) -> PlanChanges:
    return request.app[PLAN_CHANGES]


@page
async def plan_page(request: web.Request) -> web.Response:
    a, b = request.query.get("a", ""), request.query.get("b", "")
    diff = await _changes(request).diff(int(a), int(b)) if a.isdigit() and b.isdigit() else []
    return render(request, "plan.html", versions=await _changes(request).versions(), diff=diff, a=a, b=b, text="",
                  lines=None, ok=None, problems=[], message=request.query.get("message", ""), trace_lines=[],
                  attempt={})


@page
async def plan_check(request: web.Request) -> web.Response:
    """action=check shows the problems beside the lines; action=apply stores it when it has none."""
    changes = _changes(request)
    form = await request.post()
    upload = form.get("file")
    text = upload.file.read().decode("utf-8-sig", errors="replace") if hasattr(upload, "file") else ""
    text = text if text.strip() else str(form.get("text") or "")
    plan, problems = changes.check(text)
    trace_lines = []
    if plan is not None and form.get("action") == "try":
        trace_lines = await changes.try_call(plan, str(form.get("at") or ""), str(form.get("to") or ""),
                                             str(form.get("digits") or ""), str(form.get("from") or ""))
    if plan is not None and form.get("action") == "apply":
        applied = await changes.apply(text, plan, request[USER].username)
        message = _("Version %(n)s is live for new calls.", n=applied.version) if applied.live else \
            _("Version %(n)s is stored, but the service kept the running plan: see its log.", n=applied.version)
        raise web.HTTPSeeOther(f"/plan?{urlencode({'message': message})}")
    return render(request, "plan.html", http_status=200 if plan else 422, versions=await changes.versions(),
                  diff=[], a="", b="", text=text, lines=annotated(text, problems), ok=plan is not None,
                  problems=problems, message="", trace_lines=trace_lines, attempt=dict(form))


@page
async def plan_rollback(request: web.Request) -> web.Response:
    try:
        applied = await _changes(request).roll_back()
        if applied.live:
            message = _("Version %(n)s is live again.", n=applied.version)
        else:
            message = _("Version %(n)s no longer passes the checks (see the service's log); version %(m)s stays live.",
                        n=applied.version, m=applied.running or "-")
    except IvrError as e:
        message = e.message
    raise web.HTTPSeeOther(f"/plan?{urlencode({'message': message})}")


@page
async def plan_text(request: web.Request) -> web.Response:
    version = await _changes(request).version(int(request.match_info["version"]))
    return web.Response(text=version.text, content_type="text/plain", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="plan-v{version.version}.yaml"'})


def setup(app: web.Application) -> None:
    app[NAV].append(("/plan", lazy("Plan")))
    app.router.add_get("/plan", plan_page)
    app.router.add_post("/plan/check", plan_check)
    app.router.add_post("/plan/rollback", plan_rollback)
    app.router.add_get("/plan/versions/{version:\\d+}.yaml", plan_text)
