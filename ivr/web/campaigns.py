"""Campaign API: POST /api/campaigns (rows with an idempotency key each), GET /api/campaigns/{id},
GET /api/campaigns/{id}/progress (counts and outcomes over time), GET /api/campaigns/{id}/export
(CSV), POST /api/campaigns/{id}/done (a row settled by hand), POST /api/campaigns/{id}/{start|pause|
resume|cancel}."""
from __future__ import annotations

import io

from aiohttp import web

from ivr.campaigns.export import write_export
from ivr.campaigns.importer import read_records
from ivr.campaigns.progress import Progress, timeline
from ivr.campaigns.service import add_passengers, profile_named
from ivr.campaigns.store import TRANSITIONS
from ivr.errors import InvalidInput
from ivr.routing.numbers import normalize

FIELDS = ("name", "phone", "trip_id", "route", "departure", "seat", "bus", "platform", "language")


def _service(request: web.Request):
    from ivr.web.app import SERVICE
    return request.app[SERVICE]


def _id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit():
        raise InvalidInput(f"campaign id {raw!r} is not a number")
    return int(raw)


async def create(request: web.Request) -> web.Response:
    """{"name", "profile", "campaign_id"?, "rows": [{"key", "name", "phone", ...}]}: a new campaign, or
    rows added to `campaign_id`; a row whose key the campaign has is skipped, so a retry is safe."""
    service = _service(request)
    try:
        body = await request.json()
    except ValueError:
        raise InvalidInput("the body is not JSON") from None
    rows = body.get("rows") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InvalidInput("'rows' must be a list of objects")
    missing = [i for i, r in enumerate(rows) if not str(r.get("key", "")).strip()]
    if missing:
        raise InvalidInput(f"rows {missing[:10]} have no idempotency 'key'")
    plan = service.plans.current.plan
    profile = profile_named(service.campaigns.profiles(), str(body.get("profile") or "confirm"))
    records = [(i, {f: str(r.get(f) or "") for f in FIELDS}) for i, r in enumerate(rows)]
    result = read_records(records, plan.country, plan.timezone, plan.languages,
                          keys={i: str(r["key"]) for i, r in enumerate(rows)})
    store, now = service.campaigns.store, service.clock.now()
    if body.get("campaign_id") is not None:
        campaign = await store.get(int(body["campaign_id"]))
    else:
        campaign = await store.create(str(body.get("name") or "api"), profile.kind, profile.name, now,
                                      profile.dispatcher)
    added, skipped = await add_passengers(store, campaign, profile, plan, result.passengers, now,
                                          getattr(service.services.router, "lookup", None))
    return web.json_response({"campaign": campaign.to_dict(), "added": added, "skipped_keys": skipped,
                              "issues": [i.to_dict() for i in result.issues]}, status=201)


async def show(request: web.Request) -> web.Response:
    store = _service(request).campaigns.store
    campaign_id = _id(request)
    campaign = await store.get(campaign_id)
    attempts = await store.attempts(campaign_id)
    return web.json_response({"campaign": campaign.to_dict(), "counts": await store.counts(campaign_id),
                              "rows": [r.to_dict() for r in await store.rows(campaign_id)],
                              "attempts": [a.to_dict() for a in attempts],
                              "marks": [m.to_dict() for m in (await store.marks(campaign_id)).values()]})


async def export(request: web.Request) -> web.Response:
    store = _service(request).campaigns.store
    campaign_id = _id(request)
    await store.get(campaign_id)
    out = io.StringIO()
    write_export(out, await store.rows(campaign_id), await store.attempts(campaign_id))
    return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8")


async def progress(request: web.Request) -> web.Response:
    service = _service(request)
    store, campaign_id = service.campaigns.store, _id(request)
    state = Progress.of(await store.get(campaign_id), await store.counts(campaign_id))
    events = timeline(await store.outcome_times(campaign_id), None if state.ended else service.clock.now())
    return web.json_response({**state.to_dict(), "timeline": events.to_dict()})


async def done(request: web.Request) -> web.Response:
    """{"row_id": N} or {"phone": "..."}, "answer" (confirmed, cancelled, understood), "by": the
    passenger settled it with a dispatcher; the row (every open row of the phone) is not called again."""
    service = _service(request)
    campaign_id = _id(request)
    try:
        body = await request.json()
    except ValueError:
        raise InvalidInput("the body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("the body must be an object")
    by = str(body.get("by") or "").strip()
    if not by:
        raise InvalidInput("'by' (who settled it) is missing")
    target: int | str
    if type(body.get("row_id")) is int:
        target = body["row_id"]
    elif str(body.get("phone") or "").strip():
        target = normalize(str(body["phone"]), service.plans.current.plan.country)
    else:
        raise InvalidInput("give 'row_id' (a number) or 'phone'")
    rows = await service.campaigns.store.mark_done(campaign_id, target, str(body.get("answer") or "confirmed"),
                                                   by, service.clock.now())
    return web.json_response({"rows": [r.to_dict() for r in rows]})


async def change(request: web.Request) -> web.Response:
    service = _service(request)
    command = request.match_info["command"]
    if command not in TRANSITIONS:
        raise InvalidInput(f"'{command}' is not one of {', '.join(TRANSITIONS)}")
    campaign = await service.campaigns.store.change(_id(request), command, service.clock.now())
    return web.json_response(campaign.to_dict())


def setup(app: web.Application) -> None:
    app.router.add_post("/api/campaigns", create)
    app.router.add_get("/api/campaigns/{id}", show)
    app.router.add_get("/api/campaigns/{id}/export", export)
    app.router.add_get("/api/campaigns/{id}/progress", progress)
    app.router.add_post("/api/campaigns/{id}/done", done)             # before {command}, which would match it
    app.router.add_post("/api/campaigns/{id}/{command}", change)
