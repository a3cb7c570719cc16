"""HTTP API of the missed-call list, contacts and the notification outbox. Handlers parse the
request, call one method of the missed-call desk (ivr/missed/desk.py) and serialise; errors become
JSON in the app's middleware.

    setup(app)   # in create_app, after keys.install
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from ivr.contacts.store import ContactData
from ivr.errors import InvalidInput, NotFound
from ivr.missed.desk import MissedDesk
from ivr.missed.service import StaffCall
from ivr.missed.store import STATUSES
from ivr.security.roles import ADMIN, SYSTEM
from ivr.web.access import USER
from ivr.web import parse
from ivr.web.keys import MISSED

MAX_CSV_BYTES = 5 * 1024 * 1024


def _desk(request: web.Request) -> MissedDesk:
    return request.app[MISSED]


# ----- missed calls -----

async def list_missed(request: web.Request) -> web.Response:
    q = request.query
    items = await _desk(request).items(
        parse.query_choice(request, "status", (*STATUSES, "pending", "all"), "all"),
        company_number=q.get("number") or None, customer=q.get("customer") or None,
        include_short=q.get("short", "1") not in ("0", "no", "false"), since=parse.query_time(request, "since"),
        limit=parse.limit(request, 100))
    return web.json_response({"items": [i.to_dict() for i in items]})


async def get_missed(request: web.Request) -> web.Response:
    return web.json_response((await _desk(request).item(parse.path_int(request))).to_dict())


def actor(request: web.Request, data: dict[str, Any]) -> str:
    """Who takes, closes or calls back: the authenticated user. Only an admin or the system token
    may name someone else in the body's `by` (acting for a dispatcher, e.g. from the phone)."""
    user = request[USER]
    if user.role in (ADMIN, SYSTEM) and data.get("by") is not None:
        return parse.text(data, "by")
    return user.username


async def take(request: web.Request) -> web.Response:
    data = await parse.json_object(request)
    item = await _desk(request).take(parse.path_int(request), actor(request, data))
    return web.json_response(item.to_dict())


async def release(request: web.Request) -> web.Response:
    data = await parse.json_object(request)
    item = await _desk(request).release(parse.path_int(request), actor(request, data))
    return web.json_response(item.to_dict())


async def close(request: web.Request) -> web.Response:
    data = await parse.json_object(request)
    item = await _desk(request).close(parse.path_int(request), actor(request, data),
                                      parse.text(data, "reason", "done") or "done")
    return web.json_response(item.to_dict())


async def callback(request: web.Request) -> web.Response:
    data = await parse.json_object(request)
    staff = parse.text(data, "staff")
    started = await _desk(request).call_back(parse.path_int(request), staff, actor(request, data))
    return web.json_response(started, status=202)


async def staff_call(request: web.Request) -> web.Response:
    """POST /api/calls/outbound from the staff dialplan's AGI after a Dial: stored and reviewed."""
    data = await parse.json_object(request)
    call = StaffCall(phone=parse.text(data, "phone"), number=parse.text(data, "number"),
                     status=parse.text(data, "status").upper(),
                     answered_seconds=parse.seconds(data, "answered_seconds"),
                     dialled_seconds=parse.seconds(data, "dialled_seconds"), channel_id=parse.text(data, "channel"),
                     trunk=parse.text(data, "trunk", ""), recording=parse.text(data, "recording", ""))
    if not call.phone or not call.channel_id:
        raise InvalidInput("phone and channel must not be empty")
    call_id = await _desk(request).staff_call_ended(call)
    return web.json_response({"call_id": call_id}, status=201)


async def voicemail(request: web.Request) -> web.StreamResponse:
    item_id = parse.path_int(request)
    path = await _desk(request).voicemail(item_id)
    if path is None:
        raise NotFound(f"missed call {item_id} has no voicemail")
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


async def report(request: web.Request) -> web.Response:
    result = await _desk(request).report(parse.query_time(request, "since"), parse.query_time(request, "until"),
                                         include_short=parse.query_flag(request, "short"))
    return web.json_response(result.to_dict())


async def outbox(request: web.Request) -> web.Response:
    messages = await _desk(request).outbox(pending=parse.query_flag(request, "pending"))
    return web.json_response({"messages": [m.to_dict() for m in messages]})


# ----- contacts -----

def _contact_data(request: web.Request, data: dict[str, Any]) -> ContactData:
    numbers = data.get("numbers")
    if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
        raise InvalidInput("numbers must be a list of phone numbers")
    vip = data.get("vip", False)
    if not isinstance(vip, bool):
        raise InvalidInput("vip must be true or false")
    return _desk(request).contact(parse.text(data, "name"), numbers, parse.text(data, "company", ""),
                                  parse.text(data, "manager", ""), vip, parse.text(data, "notes", ""))


async def list_contacts(request: web.Request) -> web.Response:
    contacts = await _desk(request).contacts(search=request.query.get("search", ""))
    return web.json_response({"contacts": [c.to_dict() for c in contacts]})


async def get_contact(request: web.Request) -> web.Response:
    return web.json_response((await _desk(request).get_contact(parse.path_int(request))).to_dict())


async def add_contact(request: web.Request) -> web.Response:
    contact = await _desk(request).add_contact(_contact_data(request, await parse.json_object(request)))
    return web.json_response(contact.to_dict(), status=201)


async def update_contact(request: web.Request) -> web.Response:
    data = _contact_data(request, await parse.json_object(request))
    contact = await _desk(request).update_contact(parse.path_int(request), data)
    return web.json_response(contact.to_dict())


async def delete_contact(request: web.Request) -> web.Response:
    contact_id = parse.path_int(request)
    await _desk(request).delete_contact(contact_id)
    return web.json_response({"deleted": contact_id})


async def import_contacts(request: web.Request) -> web.Response:
    raw = await request.content.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        raise InvalidInput(f"the CSV is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV is not UTF-8 text") from None
    result = await _desk(request).import_contacts(text, check_staff=True,
                                                  dry_run=parse.query_flag(request, "dry_run"))
    return web.json_response(result.to_dict(), status=200 if not result.problems else 207)


async def export_contacts(request: web.Request) -> web.Response:
    return web.Response(text=await _desk(request).export_contacts(), content_type="text/csv", charset="utf-8",
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
