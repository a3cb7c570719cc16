"""Console pages of outbound campaigns: the list, and a page per campaign with its progress, a
chart of outcomes over time, counts by outcome (both kept live by a small JSON endpoint the page
polls), its rows with their attempts and next call (filtered by status, outcome or a search), a
button that marks a passenger done by hand, one that calls a row again now (administrators), the
export (CSV with `;` and a BOM, or XLSX) and the import template."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr.campaigns.desk import CampaignDesk
from ivr.campaigns.model import Campaign, CampaignNotFound
from ivr.campaigns.progress import Progress
from ivr.errors import IvrError
from ivr.i18n import _, lazy
from ivr.web.campaign_chart import layout
from ivr.web.campaigns import export as api_export, template as api_template
from ivr.web.access import allowed
from ivr.web.console import NAV, TEMPLATES, USER, page, path_id, plan_timezone, render
from ivr.terms import term
from ivr.web.keys import CAMPAIGNS

# Rows listed on a campaign's page at most (a filter or the export shows the others).
ROWS_SHOWN = 300


def _desk(request: web.Request) -> CampaignDesk:
    return request.app[CAMPAIGNS]


async def _campaign(request: web.Request) -> Campaign:
    try:
        return await _desk(request).campaign(path_id(request))
    except CampaignNotFound:
        raise web.HTTPNotFound(text=_("No such campaign.")) from None


async def _live_parts(request: web.Request, campaign: Campaign) -> tuple[Progress, str, str]:
    """The progress, and the counts table and the chart as HTML (the page, and its live updates)."""
    progress, events = await _desk(request).progress(campaign.id)
    chart = layout(events, plan_timezone(request))
    counts_html = TEMPLATES.get_template("campaign_counts.html").render(progress=progress)
    chart_html = TEMPLATES.get_template("campaign_chart.html").render(chart=chart)
    return progress, counts_html, chart_html


@page
async def campaigns_page(request: web.Request) -> web.Response:
    overview = await _desk(request).overview()
    return render(request, "campaigns.html", campaigns=[c for c, _counts in overview],
                  counts={c.id: counts for c, counts in overview})


@page
async def campaign_page(request: web.Request) -> web.Response:
    campaign = await _campaign(request)
    details = await _desk(request).details(campaign.id)
    progress, counts_html, chart_html = await _live_parts(request, campaign)
    status, result = request.query.get("status", ""), request.query.get("result", "")
    q = request.query.get("q", "").strip()
    rows = details.matching(status, result, q)
    return render(request, "campaign.html", campaign=campaign, progress=progress, counts=progress.by_result,
                  statuses=progress.by_status, counts_html=counts_html, chart_html=chart_html,
                  rows=rows[:ROWS_SHOWN], matching=len(rows), attempts=details.attempts_by_row(),
                  marks=details.marks, status=status, result=result, q=q,
                  zone=lambda name: ZoneInfo(name) if name else plan_timezone(request),
                  can_call_again=allowed(request[USER].role, "POST", "/campaigns/{id}/rows/{row}/call"),
                  message=request.query.get("message", ""), back=request.query_string)


@page
async def campaign_live(request: web.Request) -> web.Response:
    """What the page's script polls: the progress, and the counts and chart to put in place."""
    campaign = await _campaign(request)
    progress, counts_html, chart_html = await _live_parts(request, campaign)
    return web.json_response({**progress.to_dict(), "status_text": term(campaign.status), "counts_html": counts_html,
                              "chart_html": chart_html})


@page
async def mark_done(request: web.Request) -> web.Response:
    """The button of a row: this passenger settled it with a dispatcher; no more calls."""
    campaign = await _campaign(request)
    form = await request.post()
    try:
        rows = await _desk(request).settle(campaign.id, path_id(request, "row"), "",
                                                   str(form.get("answer") or "confirmed"), request[USER].username)
        message = _("%(name)s: marked %(answer)s.", name=rows[0].passenger.name, answer=term(rows[0].result))
    except IvrError as e:
        message = e.message
    # Back to the page with the filters it had.
    params = {k: v for k, v in parse_qsl(str(form.get("back") or "")) if k != "message"}
    raise web.HTTPSeeOther(f"/campaigns/{campaign.id}?{urlencode({**params, 'message': message})}")


@page
async def call_again(request: web.Request) -> web.Response:
    """The button of a row: call this passenger again now (ops: it overrides the retries)."""
    campaign = await _campaign(request)
    form = await request.post()
    try:
        row = await _desk(request).call_again(campaign.id, path_id(request, "row"))
        message = _("%(name)s: called again now.", name=row.passenger.name)
    except IvrError as e:
        message = e.message
    params = {k: v for k, v in parse_qsl(str(form.get("back") or "")) if k != "message"}
    raise web.HTTPSeeOther(f"/campaigns/{campaign.id}?{urlencode({**params, 'message': message})}")


@page
async def campaign_export(request: web.Request) -> web.Response:
    """?format=csv|xlsx, ?lang=ru|en (else the browser's language): the API's export, for the console."""
    await _campaign(request)
    return await api_export(request)


@page
async def template_download(request: web.Request) -> web.Response:
    return await api_template(request)


def setup(app: web.Application) -> None:
    app[NAV].append(("/campaigns", lazy("Campaigns")))
    app.router.add_get("/campaigns", campaigns_page)
    app.router.add_get("/campaigns/template", template_download)      # before {id}
    app.router.add_get("/campaigns/{id}", campaign_page)
    app.router.add_get("/campaigns/{id}/live", campaign_live)
    app.router.add_post("/campaigns/{id}/rows/{row}/done", mark_done)
    app.router.add_post("/campaigns/{id}/rows/{row}/call", call_again)
    app.router.add_get("/campaigns/{id}/export", campaign_export)
    app.router.add_get("/campaigns/{id}/export.csv", campaign_export)
