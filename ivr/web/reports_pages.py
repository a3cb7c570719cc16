"""Console reports: sources, load, staff, missed calls, queues, trunks and campaigns, each for a period
(local days of the plan's zone) with a chart drawn here as SVG, its table, and CSV / XLSX files. On the
sources report an administrator enters what an advert cost, for the cost per new caller."""
from __future__ import annotations

import json
from datetime import date, timedelta
from urllib.parse import urlencode

from aiohttp import web

from ivr.errors import IvrError
from ivr.i18n import _, lazy, weekday_names
from ivr.reports.calls import Period
from ivr.reports.service import Built
from ivr.reports.spend import parse_amount
from ivr.reports.table import to_csv, to_xlsx
from ivr.web import parse
from ivr.web.console import NAV, USER, page, plan_timezone, render
from ivr.web.keys import CLOCK, REPORTS, SPEND
from ivr.web.report_chart import bars, heat_rows

TITLES = {"sources": lazy("Sources"), "load": lazy("Load"), "staff": lazy("Staff"),
          "missed": lazy("Missed calls"), "queues": lazy("Queues"), "trunks": lazy("Trunks"),
          "campaigns": lazy("Campaigns")}


def period_of(request: web.Request) -> Period:
    """?from=YYYY-MM-DD&to=YYYY-MM-DD (local days, both included); the last 7 days by default."""
    tz = plan_timezone(request)
    today = request.app[CLOCK].now().astimezone(tz).date()
    first = parse.query_day(request, "from") or today - timedelta(days=6)
    last = parse.query_day(request, "to") or today
    if last < first:
        first, last = last, first
    return Period(first, last, tz)


async def build(request: web.Request, name: str, period: Period) -> Built:
    return await request.app[REPORTS].build(name, period)


def _name(request: web.Request) -> str:
    name = request.match_info["name"]
    if name not in TITLES:
        raise web.HTTPNotFound()
    return name


@page
async def index(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/reports/sources")


@page
async def report_page(request: web.Request) -> web.Response:
    name, period = _name(request), period_of(request)
    try:
        built, problem = await build(request, name, period), ""
    except IvrError as e:
        built, problem = Built([]), e.message
    today = request.app[CLOCK].now().astimezone(period.tz).date()
    presets = [(lazy("Today"), today, today), (lazy("7 days"), today - timedelta(days=6), today),
               (lazy("30 days"), today - timedelta(days=29), today),
               (lazy("This month"), today.replace(day=1), today)]
    spend = await request.app[SPEND].list() if name == "sources" else []
    query = urlencode({"from": period.first.isoformat(), "to": period.last.isoformat()})
    return render(request, "report.html", name=name, reports=TITLES, period=period, tables=built.tables,
                  presets=presets, query=query, spend=spend, message=request.query.get("message", ""),
                  chart=bars(built.bars) if built.bars is not None else None,
                  heat=heat_rows(built.heat) if built.heat is not None else None,
                  weekdays=weekday_names() if built.heat is not None else None, saving=built.saving,
                  problem=problem)


@page
async def export(request: web.Request) -> web.Response:
    name, period = _name(request), period_of(request)
    tables = (await build(request, name, period)).tables
    stem = f"{name}-{period.first.isoformat()}-{period.last.isoformat()}"
    if request.match_info["format"] == "csv":
        return web.Response(text=to_csv(tables[0]), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'})
    return web.Response(body=to_xlsx(tables), content_type="application/vnd.openxmlformats-officedocument"
                        ".spreadsheetml.sheet", headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'})


async def api_report(request: web.Request) -> web.Response:
    """GET /api/reports/{name}?from=&to=: the report's rows by column key (and the load heatmap's cells)."""
    name, period = _name(request), period_of(request)
    built = await build(request, name, period)
    body = {"from": period.first.isoformat(), "to": period.last.isoformat(),
            "columns": [c.key for c in built.tables[0].columns], "rows": built.tables[0].rows}
    if built.heat is not None:
        body["heat"] = [{"weekday": d, "hour": hour, "calls": c.calls, "missed": c.missed, "add_staff": c.add_staff}
                        for hour, cells in heat_rows(built.heat) for d, c in enumerate(cells) if c]
    return web.json_response(body, dumps=lambda v: json.dumps(v, default=str))


async def api_add_spend(request: web.Request) -> web.Response:
    """POST /api/reports/spend {"source", "first_day", "last_day", "amount"}: what an advert cost."""
    body = await parse.json_object(request)
    first, last = parse.day(body, "first_day"), parse.day(body, "last_day")
    spent = await request.app[SPEND].add(str(body.get("source", "")), first, last,
                                         parse_amount(str(body.get("amount", ""))), "api")
    return web.json_response({"id": spent.id, "source": spent.source, "amount": str(spent.amount)}, status=201)


@page
async def add_spend(request: web.Request) -> web.Response:
    form = await request.post()
    back = str(form.get("back") or "")
    try:
        first, last = date.fromisoformat(str(form.get("first_day"))), date.fromisoformat(str(form.get("last_day")))
        await request.app[SPEND].add(str(form.get("source", "")), first, last, parse_amount(str(form.get("amount", ""))),
                                     request[USER].username)
        message = _("Saved.")
    except ValueError:
        message = _("Dates like 2026-12-07, please.")
    except IvrError as e:
        message = e.message
    raise web.HTTPSeeOther(f"/reports/sources?{back}&{urlencode({'message': message})}")


def setup(app: web.Application) -> None:
    app[NAV].append(("/reports", lazy("Reports")))
    app.router.add_get("/reports", index)
    app.router.add_post("/reports/spend", add_spend)
    app.router.add_get("/reports/{name}", report_page)
    app.router.add_get("/reports/{name}/export.{format:csv|xlsx}", export)
    app.router.add_post("/api/reports/spend", api_add_spend)
    app.router.add_get("/api/reports/{name}", api_report)      # after /api/reports/trunks (ivr.web.routing)
