"""Campaign API: POST /api/campaigns (rows with an idempotency key each), POST /api/campaigns/import
(a CSV or XLSX file as the body), GET /api/campaigns/template, GET /api/campaigns/{id} (rows with
their next call), GET /api/campaigns/{id}/progress (counts and outcomes over time),
GET /api/campaigns/{id}/export (?format=csv|xlsx&lang=ru|en), POST /api/campaigns/{id}/done (a row
settled by hand), POST /api/campaigns/{id}/rows/{row}/call (call it again now),
POST /api/campaigns/{id}/{start|pause|resume|cancel}."""
from __future__ import annotations

from aiohttp import web

from ivr.campaigns import sheets
from ivr.campaigns.desk import CampaignDesk, Stored
from ivr.campaigns.export import FORMATS, LANGUAGES, template_file
from ivr.campaigns.store import TRANSITIONS
from ivr.errors import InvalidInput, IvrError
from ivr.web import parse
from ivr.web.keys import CAMPAIGNS, PLANS

# Rows of one request: a larger list is refused whole (413), so nothing is half-written.
MAX_ROWS = 10_000
FIELDS = ("name", "phone", "trip_id", "route", "departure", "timezone", "seat", "bus", "platform", "language")


class TooManyRows(IvrError):
    status_code = 413
    error_id = "too-many-rows"


def _desk(request: web.Request) -> CampaignDesk:
    return request.app[CAMPAIGNS]


def _id(request: web.Request) -> int:
    return parse.path_int(request, "id", "campaign id")


def _stored(stored: Stored) -> dict:
    return {"campaign": stored.campaign.to_dict(), **stored.added.to_dict(),
            "issues": [i.to_dict() for i in stored.read.issues]}


async def create(request: web.Request) -> web.Response:
    """{"name", "profile", "campaign_id"?, "rows": [{"key", "name", "phone", ...}]}: a new campaign, or
    rows added to `campaign_id`; a row whose key the campaign has is skipped, so a retry is safe."""
    body = await parse.json_object(request)
    rows = parse.objects(body, "rows")
    if len(rows) > MAX_ROWS:
        raise TooManyRows(f"{len(rows)} rows in one request; send at most {MAX_ROWS} (more in further "
                          "requests with 'campaign_id')")
    name, profile = parse.text(body, "name", "api") or "api", parse.text(body, "profile", "confirm") or "confirm"
    campaign_id = parse.optional_id(body, "campaign_id")
    missing = [i for i, r in enumerate(rows) if not str(r.get("key", "")).strip()]
    if missing:
        raise InvalidInput(f"rows {missing[:10]} have no idempotency 'key'")
    stored = await _desk(request).add_records(
        [(i, {f: str(r.get(f) or "") for f in FIELDS}) for i, r in enumerate(rows)],
        {i: str(r["key"]) for i, r in enumerate(rows)}, profile, name, campaign_id)
    return web.json_response(_stored(stored), status=201)


async def import_file(request: web.Request) -> web.Response:
    """The body is a CSV (UTF-8 or cp1251, any separator) or XLSX file; ?name=, ?profile= (confirm),
    ?filename= (its name: .xlsx is read as XLSX). A new campaign in draft, and the import report."""
    data = await request.read()
    if not data:
        raise InvalidInput("the body is empty: send the file's bytes")
    q = request.query
    stored, kind = await _desk(request).import_file(data, q.get("filename", ""), q.get("name", ""),
                                                     q.get("profile") or "confirm")
    read = stored.read
    return web.json_response({**_stored(stored), "file": kind, "rows_read": read.rows_read, "merged": read.merged,
                              "refused": read.refused}, status=201)


async def show(request: web.Request) -> web.Response:
    details = await _desk(request).details(_id(request))
    return web.json_response({"campaign": details.campaign.to_dict(), "counts": details.counts,
                              "rows": [r.to_dict() for r in details.rows],
                              "attempts": [a.to_dict() for a in details.attempts],
                              "marks": [m.to_dict() for m in details.marks.values()]})


def _file_options(request: web.Request) -> tuple[str, str]:
    """?format= (csv, xlsx) and ?lang= (ru, en; else the browser's, else the plan's language)."""
    fmt = request.query.get("format", "csv")
    if fmt not in FORMATS:
        raise InvalidInput(f"format {fmt!r}: use {' or '.join(FORMATS)}")
    lang = request.query.get("lang") or request.headers.get("Accept-Language", "")[:2].lower()
    if lang not in LANGUAGES:
        lang = _plan_zone_and_language(request)[1]
    return fmt, lang if lang in LANGUAGES else "en"


def _plan_zone_and_language(request: web.Request) -> tuple[str, str]:
    live = request.app[PLANS].current
    return (live.plan.timezone, live.plan.language) if live else ("UTC", "en")


def file_response(data: bytes, fmt: str, filename: str) -> web.Response:
    kind = sheets.XLSX_TYPE if fmt == "xlsx" else "text/csv; charset=utf-8"
    return web.Response(body=data, headers={"Content-Type": kind,
                                            "Content-Disposition": f'attachment; filename="{filename}.{fmt}"'})


async def export(request: web.Request) -> web.Response:
    campaign_id = _id(request)
    fmt, lang = _file_options(request)
    data = await _desk(request).export(campaign_id, lang, fmt, _plan_zone_and_language(request)[0])
    return file_response(data, fmt, f"campaign-{campaign_id}")


async def template(request: web.Request) -> web.Response:
    fmt, lang = _file_options(request)
    return file_response(template_file(lang, fmt), fmt, "passengers")


async def call_again(request: web.Request) -> web.Response:
    """Call one row again now (ops)."""
    row = await _desk(request).call_again(_id(request), parse.path_int(request, "row", "row id"))
    return web.json_response({"row": row.to_dict()})


async def progress(request: web.Request) -> web.Response:
    state, events = await _desk(request).progress(_id(request))
    return web.json_response({**state.to_dict(), "timeline": events.to_dict()})


async def done(request: web.Request) -> web.Response:
    """{"row_id": N} or {"phone": "..."}, "answer" (confirmed, cancelled, understood), "by": the
    passenger settled it with a dispatcher; the row (every open row of the phone) is not called again."""
    campaign_id = _id(request)
    body = await parse.json_object(request)
    by = parse.text(body, "by", "")
    if not by:
        raise InvalidInput("by (who settled it) is missing")
    row_id, phone = parse.optional_id(body, "row_id"), parse.text(body, "phone", "")
    if row_id is None and not phone:
        raise InvalidInput("give row_id (a number) or phone")
    rows = await _desk(request).settle(campaign_id, row_id, phone, parse.text(body, "answer", "confirmed"), by)
    return web.json_response({"rows": [r.to_dict() for r in rows]})


async def change(request: web.Request) -> web.Response:
    command = request.match_info["command"]
    if command not in TRANSITIONS:
        raise InvalidInput(f"'{command}' is not one of {', '.join(TRANSITIONS)}")
    campaign = await _desk(request).change(_id(request), command)
    return web.json_response(campaign.to_dict())


def setup(app: web.Application) -> None:
    app.router.add_post("/api/campaigns", create)
    app.router.add_post("/api/campaigns/import", import_file)
    app.router.add_get("/api/campaigns/template", template)           # before {id}
    app.router.add_get("/api/campaigns/{id}", show)
    app.router.add_get("/api/campaigns/{id}/export", export)
    app.router.add_get("/api/campaigns/{id}/progress", progress)
    app.router.add_post("/api/campaigns/{id}/done", done)             # before {command}, which would match it
    app.router.add_post("/api/campaigns/{id}/rows/{row}/call", call_again)
    app.router.add_post("/api/campaigns/{id}/{command}", change)
