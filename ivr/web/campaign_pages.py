"""Console pages of outbound campaigns: the list, and a page per campaign with counts by outcome,
its rows with their attempts (filtered by status or outcome) and the CSV export."""
from __future__ import annotations

import io
from collections import defaultdict

from aiohttp import web

from ivr.campaigns.model import CampaignNotFound
from ivr.cli.campaigns import write_export
from ivr.web.console import NAV, page, path_id, render
from ivr.web.keys import SERVICE


def _store(request: web.Request):
    return request.app[SERVICE].campaigns.store




async def _campaign(request: web.Request):
    try:
        return await _store(request).get(path_id(request))
    except CampaignNotFound:
        raise web.HTTPNotFound(text="No such campaign.") from None


@page
async def campaigns_page(request: web.Request) -> web.Response:
    store = _store(request)
    campaigns = list(reversed(await store.list()))
    counts = {c.id: await store.counts(c.id) for c in campaigns}
    return render(request, "campaigns.html", campaigns=campaigns, counts=counts)


@page
async def campaign_page(request: web.Request) -> web.Response:
    campaign = await _campaign(request)
    store = _store(request)
    counts = await store.counts(campaign.id)
    status, result = request.query.get("status", ""), request.query.get("result", "")
    rows = [r for r in await store.rows(campaign.id)
            if (not status or r.status == status) and (not result or r.result == result)]
    attempts = defaultdict(list)
    for a in await store.attempts(campaign.id):
        attempts[a.row_id].append(a)
    total = sum(counts["status"].values())
    settled = counts["status"].get("done", 0) + counts["status"].get("cancelled", 0)
    return render(request, "campaign.html", campaign=campaign, counts=counts, rows=rows, attempts=attempts,
                  total=total, settled=settled, status=status, result=result)


@page
async def campaign_export(request: web.Request) -> web.Response:
    campaign = await _campaign(request)
    store = _store(request)
    out = io.StringIO()
    write_export(out, await store.rows(campaign.id), await store.attempts(campaign.id))
    return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign.id}.csv"'})


def setup(app: web.Application) -> None:
    app[NAV].append(("/campaigns", "Campaigns"))
    app.router.add_get("/campaigns", campaigns_page)
    app.router.add_get("/campaigns/{id}", campaign_page)
    app.router.add_get("/campaigns/{id}/export.csv", campaign_export)
