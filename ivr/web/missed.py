"""HTTP API of the missed-call list, contacts and the notification outbox. Handlers parse the
request, call one service or store, and serialise; errors become JSON in the app's middleware.

    setup(app)   # in create_app, after keys.install
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from ivr.contacts.csvio import export_csv, import_csv
from ivr.contacts.store import ContactData
from ivr.errors import InvalidInput, NotFound
from ivr.missed.report import build_report
from ivr.missed.service import StaffCall
from ivr.missed.store import STATUSES
from ivr.routing.numbers import normalize
from ivr.security.roles import ADMIN, SYSTEM
from ivr.web.access import USER
from ivr.web import parse
from ivr.web.keys import MISSED, PLANS

MAX_CSV_BYTES = 5 * 1024 * 1024


def _text(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if value is None:
        raise InvalidInput(f"{key} is required")
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be a text")
    return value.strip()


# ----- missed calls -----

async def list_missed(request: web.Request) -> web.Response:
    q = request.query
    status = q.get("status") or "all"
    if status not in (*STATUSES, "pending", "all"):
        raise InvalidInput(f"status: {status!r} is not one of {', '.join((*STATUSES, 'pending', 'all'))}")
    items = await request.app[MISSED].store.list(
        status=None if status == "all" else status, company_number=q.get("number") or None, customer=q.get("customer") or None,
        include_short=q.get("short", "1") not in ("0", "no", "false"), since=parse.query_time(request, "since"),
        limit=parse.limit(request, 100))
    return web.json_response({"items": [i.to_dict() for i in items]})


async def get_missed(request: web.Request) -> web.Response:
    return web.json_response((await request.app[MISSED].store.get(parse.path_int(request))).to_dict())


def actor(request: web.Request, data: dict[str, Any]) -> str:
    """Who takes, closes or calls back: the authenticated user. Only an admin or the system token
    may name someone else in the body's `by` (acting for a dispatcher, e.g. from the phone)."""
    user = request[USER]
    if user.role in (ADMIN, SYSTEM) and data.get("by") is not None:
        return _text(data, "by")
    return user.username


async def take(request: web.Request) -> web.Response:
    data = await parse.json_object(request)
    item = await request.app[MISSED].take(parse.path_int(request), actor(request, data))
    return web.json_response(item.to_dict())


async def release(request: web.Request) -> web.Response:
    data = await parse.json_object(request)
    item = await request.app[MISSED].release(parse.path_int(request), actor(request, data))
    return web.json_response(item.to_dict())


async def close(request: web.Request) -> web.Response:
    data = await parse.json_object(request)
    item = await request.app[MISSED].close(parse.path_int(request), actor(request, data), _text(data, "reason", "done") or "done")
    return web.json_response(item.to_dict())


async def callback(request: web.Request) -> web.Response:
    data = await parse.json_object(request)
    staff = _text(data, "staff")
    started = await request.app[MISSED].start_callback(parse.path_int(request), staff, actor(request, data))
    return web.json_response(started, status=202)


def _seconds(data: dict[str, Any], key: str) -> float:
    value = data.get(key, 0)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InvalidInput(f"{key} must be a number of seconds, not {value!r}")
    return float(value)


async def staff_call(request: web.Request) -> web.Response:
    """POST /api/calls/outbound from the staff dialplan's AGI after a Dial: stored and reviewed."""
    data = await parse.json_object(request)
    call = StaffCall(phone=_text(data, "phone"), number=_text(data, "number"), status=_text(data, "status").upper(),
                     answered_seconds=_seconds(data, "answered_seconds"),
                     dialled_seconds=_seconds(data, "dialled_seconds"), channel_id=_text(data, "channel"),
                     trunk=_text(data, "trunk", ""), recording=_text(data, "recording", ""))
    if not call.phone or not call.channel_id:
        raise InvalidInput("phone and channel must not be empty")
    call_id = await request.app[MISSED].staff_call_ended(call)
    return web.json_response({"call_id": call_id}, status=201)


async def voicemail(request: web.Request) -> web.StreamResponse:
    item = await request.app[MISSED].store.get(parse.path_int(request))
    if not item.voicemail or not Path(item.voicemail).exists():
        raise NotFound(f"missed call {item.id} has no voicemail")
    return web.FileResponse(item.voicemail, headers={"Content-Type": "audio/wav"})


async def report(request: web.Request) -> web.Response:
    missed = request.app[MISSED]
    until = parse.query_time(request, "until") or missed.now()
    since = parse.query_time(request, "since") or until - timedelta(days=7)
    items = await missed.store.between(since, until)
    result = build_report(items, since, until, missed.timezone(),
                          include_short=request.query.get("short") in ("1", "yes", "true"))
    return web.json_response(result.to_dict())


async def outbox(request: web.Request) -> web.Response:
    messages = await request.app[MISSED].outbox.list(pending=request.query.get("pending") in ("1", "yes", "true"))
    return web.json_response({"messages": [m.to_dict() for m in messages]})


# ----- contacts -----

def _country(request: web.Request) -> str:
    plan = request.app[PLANS].current
    return plan.plan.country if plan else "RU"


def _contact_data(request: web.Request, data: dict[str, Any]) -> ContactData:
    numbers = data.get("numbers")
    if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
        raise InvalidInput("numbers must be a list of phone numbers")
    vip = data.get("vip", False)
    if not isinstance(vip, bool):
        raise InvalidInput("vip must be true or false")
    return ContactData(name=_text(data, "name"), numbers=tuple(normalize(n, _country(request)) for n in numbers),
                       company=_text(data, "company", ""), manager=_text(data, "manager", ""), vip=vip,
                       notes=_text(data, "notes", ""))


async def list_contacts(request: web.Request) -> web.Response:
    contacts = await request.app[MISSED].contacts.list(search=request.query.get("search", ""))
    return web.json_response({"contacts": [c.to_dict() for c in contacts]})


async def get_contact(request: web.Request) -> web.Response:
    return web.json_response((await request.app[MISSED].contacts.get(parse.path_int(request))).to_dict())


async def add_contact(request: web.Request) -> web.Response:
    missed = request.app[MISSED]
    contact = await missed.contacts.add(_contact_data(request, await parse.json_object(request)), missed.now())
    return web.json_response(contact.to_dict(), status=201)


async def update_contact(request: web.Request) -> web.Response:
    missed = request.app[MISSED]
    contact = await missed.contacts.update(parse.path_int(request), _contact_data(request, await parse.json_object(request)), missed.now())
    return web.json_response(contact.to_dict())


async def delete_contact(request: web.Request) -> web.Response:
    await request.app[MISSED].contacts.delete(parse.path_int(request))
    return web.json_response({"deleted": parse.path_int(request)})


async def import_contacts(request: web.Request) -> web.Response:
    raw = await request.content.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        raise InvalidInput(f"the CSV is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV is not UTF-8 text") from None
    missed = request.app[MISSED]
    plan = request.app[PLANS].current
    result = await import_csv(missed.contacts, text, _country(request), missed.now(),
                              staff=set(plan.plan.staff) if plan else None,
                              dry_run=request.query.get("dry_run") in ("1", "yes", "true"))
    return web.json_response(result.to_dict(), status=200 if not result.problems else 207)


async def export_contacts(request: web.Request) -> web.Response:
    text = export_csv(await request.app[MISSED].contacts.list(limit=1_000_000))
    return web.Response(text=text, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": 'attachment; filename="contacts.csv"'})


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/missed", list_missed)
    r.add_get("/api/missed/report", report)
    r.add_get("/api/missed/{id}", get_missed)
    r.add_get("/api/missed/{id}/voicemail", voicemail)
    r.add_post("/api/missed/{id}/take", take)
    r.add_post("/api/missed/{id}/release", release)
    r.add_post("/api/missed/{id}/close", close)
    r.add_post("/api/missed/{id}/callback", callback)
    r.add_post("/api/calls/outbound", staff_call)
    r.add_get("/api/notifications/outbox", outbox)
    r.add_get("/api/contacts", list_contacts)
    r.add_post("/api/contacts", add_contact)
    r.add_get("/api/contacts/export", export_contacts)
    r.add_post("/api/contacts/import", import_contacts)
    r.add_get("/api/contacts/{id}", get_contact)
    r.add_put("/api/contacts/{id}", update_contact)
    r.add_delete("/api/contacts/{id}", delete_contact)
