"""Console reports: sources, load, staff, missed calls, queues, trunks and campaigns, each for a period
(local days of the plan's zone) with a chart drawn here as SVG, its table, and CSV / XLSX files. On the
sources report an administrator enters what an advert cost, for the cost per new caller."""
from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from urllib.parse import urlencode

from aiohttp import web

from ivr.asterisk.render import pbx_instance
from ivr.errors import InvalidInput, IvrError
from ivr.i18n import _, lazy, weekday_names
from ivr.reports import calls as call_reports
from ivr.reports import other
from ivr.reports.calls import Period
from ivr.reports.spend import SpendStore, parse_amount
from ivr.reports.table import Table, to_csv, to_xlsx
from ivr.routing.report import cdr_path, trunk_report
from ivr.web.console import NAV, USER, USERS, page, plan_timezone, render
from ivr.web.keys import SERVICE
from ivr.web.report_chart import bars, heat_rows
from ivr.terms import term

REPORTS = {"sources": lazy("Sources"), "load": lazy("Load"), "staff": lazy("Staff"),
           "missed": lazy("Missed calls"), "queues": lazy("Queues"), "trunks": lazy("Trunks"),
           "campaigns": lazy("Campaigns")}
SPEND = web.AppKey("spend", SpendStore)


def period_of(request: web.Request) -> Period:
    """?from=YYYY-MM-DD&to=YYYY-MM-DD (local days, both included); the last 7 days by default."""
    tz = plan_timezone(request)
    today = request.app[SERVICE].clock.now().astimezone(tz).date()
    try:
        first = date.fromisoformat(request.query["from"]) if request.query.get("from") else today - timedelta(days=6)
        last = date.fromisoformat(request.query["to"]) if request.query.get("to") else today
    except ValueError:
        raise InvalidInput("from, to: dates like 2026-12-07") from None
    if last < first:
        first, last = last, first
    return Period(first, last, tz)


async def build(request: web.Request, name: str, period: Period) -> tuple[list[Table], dict]:
    """The report's tables and what its chart needs."""
    service = request.app[SERVICE]
    calls = [c for c in await service.calls.list(limit=1_000_000, since=period.since, steps=name in ("load", "staff"))
             if c.direction == "inbound" and c.started_at < period.until]
    missed_store = service.services.missed.store
    if name == "sources":
        items = await missed_store.between(period.since, period.until)
        first = await service.calls.first_calls(c.caller for c in calls)
        spend = await request.app[SPEND].for_period(period.first, period.last)
        table = call_reports.sources(calls, items, first, spend, period)
        return [table], {"chart": bars([(f"{r['source']} {r['number']}", [(r["answered"], "answered"),
                                                                          (r["missed"], "missed")])
                                        for r in table.rows])}
    if name == "load":
        table = call_reports.load(calls, period)
        return [table], {"heat": heat_rows(call_reports.heatmap(calls, period.tz)), "weekdays": weekday_names()}
    if name == "staff":
        staff = service.plans.current.plan.staff if service.plans.current else {}
        users = {u.username: u.extension for u in await request.app[USERS].all() if u.extension}
        items = await missed_store.between(period.since, period.until)
        table = call_reports.staff(calls, items, {e: s.name for e, s in staff.items()}, users)
        return [table], {"chart": bars([(f"{r['extension']} {r['name']}", [(r["answered"], "answered"),
                                                                          (r["missed_ringing"], "missed")])
                                        for r in table.rows])}
    if name == "missed":
        table = call_reports.missed(await missed_store.between(period.since, period.until), period.tz)
        return [table], {"chart": bars([(term(r["reason"]), [(r["closed"], "reached"), (r["open"], "not_reached")])
                                        for r in table.rows if r["reason"] != "all"])}
    if name == "queues":
        nodes = service.plans.current.plan.nodes.values() if service.plans.current else ()
        entries = [e for e in await service.services.queues.store.entries(period.since) if e.joined_at < period.until]
        table = other.queues(entries, [n.id for n in nodes if n.kind == "queue"])
        return [table], {"chart": bars([(r["queue"], [(r["answered"], "answered"),
                                                      (r["offered"] - r["answered"], "missed")]) for r in table.rows])}
    if name == "trunks":
        router = service.services.router
        report = await asyncio.to_thread(trunk_report, cdr_path(pbx_instance(service.settings)), router.plan(),
                                         router.lookup, period.since, period.until)
        table = other.trunks(report)
        return [table], {"chart": bars([(r["name"], [(r["answered"], "answered"), (r["calls"] - r["answered"], "missed")])
                                        for r in table.rows if not r["name"].startswith("·")]),
                         "saving": report["saving"]}
    store = service.campaigns.store
    every = await store.list()
    events = {c.id: [(t, o) for t, o in await store.outcome_times(c.id) if period.since <= t < period.until]
              for c in every}
    chosen = [c for c in every if events[c.id] or period.since <= c.created_at < period.until]
    table = other.campaigns([(c, await store.counts(c.id)) for c in chosen])
    days = other.campaign_days([(c, events[c.id]) for c in chosen], period.tz)
    return [table, days], {"chart": bars([(r["campaign"], [(r["confirm"] + r["understood"], "answered"),
                                                     (r["rows"] - r["confirm"] - r["understood"], "missed")])
                                    for r in table.rows])}


def _name(request: web.Request) -> str:
    name = request.match_info["name"]
    if name not in REPORTS:
        raise web.HTTPNotFound()
    return name


@page
async def index(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/reports/sources")


@page
async def report_page(request: web.Request) -> web.Response:
    name, period = _name(request), period_of(request)
    try:
        tables, extra = await build(request, name, period)
    except IvrError as e:
        tables, extra = [], {"problem": e.message}
    today = request.app[SERVICE].clock.now().astimezone(period.tz).date()
    presets = [(lazy("Today"), today, today), (lazy("7 days"), today - timedelta(days=6), today),
               (lazy("30 days"), today - timedelta(days=29), today),
               (lazy("This month"), today.replace(day=1), today)]
    spend = await request.app[SPEND].list() if name == "sources" else []
    query = urlencode({"from": period.first.isoformat(), "to": period.last.isoformat()})
    return render(request, "report.html", name=name, reports=REPORTS, period=period, tables=tables,
                  presets=presets, query=query, spend=spend, message=request.query.get("message", ""),
                  chart=extra.get("chart"), heat=extra.get("heat"), weekdays=extra.get("weekdays"),
                  saving=extra.get("saving"), problem=extra.get("problem", ""))


@page
async def export(request: web.Request) -> web.Response:
    name, period = _name(request), period_of(request)
    tables, _extra = await build(request, name, period)
    stem = f"{name}-{period.first.isoformat()}-{period.last.isoformat()}"
    if request.match_info["format"] == "csv":
        return web.Response(text=to_csv(tables[0]), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'})
    return web.Response(body=to_xlsx(tables), content_type="application/vnd.openxmlformats-officedocument"
                        ".spreadsheetml.sheet", headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'})


async def api_report(request: web.Request) -> web.Response:
    """GET /api/reports/{name}?from=&to=: the report's rows by column key (and the load heatmap's cells)."""
    name, period = _name(request), period_of(request)
    tables, extra = await build(request, name, period)
    body = {"from": period.first.isoformat(), "to": period.last.isoformat(),
            "columns": [c.key for c in tables[0].columns], "rows": tables[0].rows}
    if extra.get("heat"):
        body["heat"] = [{"weekday": d, "hour": hour, "calls": c.calls, "missed": c.missed, "add_staff": c.add_staff}
                        for hour, cells in extra["heat"] for d, c in enumerate(cells) if c]
    return web.json_response(body, dumps=lambda v: json.dumps(v, default=str))


async def api_add_spend(request: web.Request) -> web.Response:
    """POST /api/reports/spend {"source", "first_day", "last_day", "amount"}: what an advert cost."""
    try:
        body = await request.json()
        first, last = date.fromisoformat(body["first_day"]), date.fromisoformat(body["last_day"])
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("the body must be JSON with source, first_day, last_day (2026-12-07) and amount") from None
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


def setup(app: web.Application, spend: SpendStore) -> None:
    app[SPEND] = spend
    app[NAV].append(("/reports", lazy("Reports")))
    app.router.add_get("/reports", index)
    app.router.add_post("/reports/spend", add_spend)
    app.router.add_get("/reports/{name}", report_page)
    app.router.add_get("/reports/{name}/export.{format:csv|xlsx}", export)
    app.router.add_post("/api/reports/spend", api_add_spend)
    app.router.add_get("/api/reports/{name}", api_report)      # after /api/reports/trunks (ivr.web.routing)
