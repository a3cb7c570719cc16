"""Console pages: the missed-call list (take, close, call back, voicemail; refreshes itself),
contacts (search, CSV import with its report, export) and the demo mailbox."""
from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from aiohttp import web

from ivr.errors import IvrError
from ivr.i18n import _, lazy
from ivr.missed.desk import MissedDesk
from ivr.notify.saved_mail import saved_mails
from ivr.web.console import NAV, USER, page, path_id, render
from ivr.web.keys import MISSED, SETTINGS

# "active": open and taken together, what a dispatcher works through; the default.
STATUSES = ("active", "open", "taken", "closed", "all")


def _desk(request: web.Request) -> MissedDesk:
    return request.app[MISSED]


@page
async def missed_page(request: web.Request) -> web.Response:
    status = request.query.get("status", "active")
    status = status if status in STATUSES else "active"
    hide_short = request.query.get("short") != "1"
    items = await _desk(request).items(status, include_short=not hide_short, limit=300)
    template = "missed_rows.html" if request.query.get("rows") == "1" else "missed.html"
    return render(request, template, items=items, status=status, statuses=STATUSES, hide_short=hide_short,
                  message=request.query.get("message", ""))


@page
async def missed_action(request: web.Request) -> web.Response:
    item_id, action = path_id(request), request.match_info["action"]
    user = request[USER]
    form = await request.post()
    desk = _desk(request)
    try:
        if action == "take":
            await desk.take(item_id, user.username)
            message = ""
        elif action == "release":
            await desk.release(item_id, user.username)
            message = ""
        elif action == "close":
            await desk.close(item_id, user.username, str(form.get("reason") or "done"))
            message = ""
        elif action == "callback":
            staff = str(form.get("staff") or user.extension)
            if not staff:
                raise web.HTTPBadRequest(text=_("Set your extension (ivr users add --extension) or pick a phone."))
            await desk.call_back(item_id, staff, user.username)
            message = _("Calling your phone %(phone)s first, then the customer.", phone=staff)
        else:
            raise web.HTTPNotFound()
    except IvrError as e:
        message = e.message
    status = request.query.get("status", "active")
    raise web.HTTPSeeOther(f"/missed?{urlencode({'status': status, 'message': message})}")


@page
async def missed_item(request: web.Request) -> web.Response:
    """One item (the link in a notification mail)."""
    item = await _desk(request).item(path_id(request))
    return render(request, "missed.html", items=[item], status=item.status, statuses=STATUSES,
                  hide_short=False, message="")


@page
async def voicemail(request: web.Request) -> web.StreamResponse:
    path = await _desk(request).voicemail(path_id(request))
    if path is None:
        raise web.HTTPNotFound(text=_("No voicemail for this call."))
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


@page
async def contacts_page(request: web.Request) -> web.Response:
    contacts = await _desk(request).contacts(search=request.query.get("q", ""))
    return render(request, "contacts.html", contacts=contacts, q=request.query.get("q", ""), report=None)


@page
async def contacts_import(request: web.Request) -> web.Response:
    form = await request.post()
    upload = form.get("file")
    try:
        text = upload.file.read().decode("utf-8-sig") if hasattr(upload, "file") else ""
    except UnicodeDecodeError:
        raise web.HTTPBadRequest(text="The file is not UTF-8 text: save it as \"CSV UTF-8\" and import it again.") from None
    desk = _desk(request)
    report = await desk.import_contacts(text)
    return render(request, "contacts.html", contacts=await desk.contacts(), q="", report=report)


@page
async def contacts_export(request: web.Request) -> web.Response:
    return web.Response(text=await _desk(request).export_contacts(), content_type="text/csv",
                        headers={"Content-Disposition": "attachment; filename=contacts.csv"})


@page
async def mailbox_page(request: web.Request) -> web.Response:
    mails = await asyncio.to_thread(saved_mails, request.app[SETTINGS].var / "mailbox")
    return render(request, "mailbox.html", mails=mails)


def setup(app: web.Application) -> None:
    app[NAV][0:0] = [("/missed", lazy("Missed calls"))]
    app[NAV].extend([("/contacts", lazy("Contacts")), ("/mailbox", lazy("Mailbox"))])
    r = app.router
    r.add_get("/missed", missed_page)
    r.add_post("/missed/{id}/{action}", missed_action)
    r.add_get("/missed/{id}", missed_item)
    r.add_get("/missed/{id}/voicemail", voicemail)
    r.add_get("/contacts", contacts_page)
    r.add_post("/contacts/import", contacts_import)
    r.add_get("/contacts/export", contacts_export)
    r.add_get("/mailbox", mailbox_page)
