"""Campaigns from the browser: upload (or paste) the passengers' CSV, see the row-by-row check before
anything is stored, choose the profile (its calling hours, attempts), create it as a draft or start it
at once; then start, pause, resume or cancel it from its page."""
from __future__ import annotations

from datetime import time
from urllib.parse import urlencode

from aiohttp import web

from ivr.errors import InvalidInput, IvrError
from ivr.i18n import _, weekday_names
from ivr.web.console import page, path_id, render
from ivr.terms import term
from ivr.web.keys import CAMPAIGNS

COMMANDS = ("start", "pause", "resume", "cancel")


def _hours(profile) -> str:
    """The profile's calling hours, e.g. "Mon 09:00-21:00, Tue 09:00-21:00, ..."."""
    days = weekday_names()
    return ", ".join(f"{days[d]} " + " ".join(f"{r.start:%H:%M}-{'24:00' if r.end == time.max else f'{r.end:%H:%M}'}"
                                            for r in ranges)
                     for d, ranges in sorted(profile.hours.items()) if ranges)


def _profiles(request: web.Request) -> dict:
    return request.app[CAMPAIGNS].profiles()


async def _text(form) -> str:
    upload = form.get("file")
    if hasattr(upload, "file"):
        data = upload.file.read().decode("utf-8-sig", errors="replace")
        if data.strip():
            return data
    return str(form.get("csv") or "")


@page
async def new_form(request: web.Request) -> web.Response:
    profiles = _profiles(request)
    return render(request, "campaign_new.html", profiles=profiles, hours={n: _hours(p) for n, p in profiles.items()},
                  name="", profile=next(iter(profiles), ""), csv="", result=None, error="")


@page
async def new_check_or_create(request: web.Request) -> web.Response:
    """action=check: the report only; action=draft or start: store it (checked again) and go to its page."""
    desk = request.app[CAMPAIGNS]
    form = await request.post()
    text, name = await _text(form), str(form.get("name") or "").strip()
    profiles = _profiles(request)
    chosen = str(form.get("profile") or "")
    result = desk.read_csv(text) if text.strip() else None
    error = "" if result else _("Choose a CSV file or paste its lines.")
    action = str(form.get("action") or "check")
    if result and action in ("draft", "start"):
        try:
            if not name:
                raise InvalidInput(_("Give the campaign a name."))
            if not result.passengers:
                raise InvalidInput(_("No row can be called: fix the file first."))
            stored = await desk.create(result, name, chosen, start=action == "start")
            message = _("%(added)s passengers stored.", added=stored.added.added)
            raise web.HTTPSeeOther(f"/campaigns/{stored.campaign.id}?{urlencode({'message': message})}")
        except IvrError as e:
            error = e.message
    return render(request, "campaign_new.html", http_status=422 if error else 200, profiles=profiles,
                  hours={n: _hours(p) for n, p in profiles.items()}, name=name, profile=chosen, csv=text,
                  result=result, error=error)


@page
async def command(request: web.Request) -> web.Response:
    campaign_id, verb = path_id(request), request.match_info["command"]
    try:
        campaign = await request.app[CAMPAIGNS].change(campaign_id, verb)
        message = _("The campaign is %(status)s now.", status=term(campaign.status))
    except IvrError as e:
        message = e.message
    raise web.HTTPSeeOther(f"/campaigns/{campaign_id}?{urlencode({'message': message})}")


def setup(app: web.Application) -> None:
    app.router.add_get("/campaigns/new", new_form)            # before /campaigns/{id}
    app.router.add_post("/campaigns/new", new_check_or_create)
    app.router.add_post("/campaigns/{id}/{command:start|pause|resume|cancel}", command)
