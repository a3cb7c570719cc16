"""The web console: server-rendered pages behind a login. Handlers read the request, call one
store or service, render one template. Who may open which page is decided in ivr/web/access.py."""
from __future__ import annotations

import logging
import time
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from ivr.clock import utc_now
from ivr.web.access import AUDIT, SESSION, SESSIONS, THROTTLE, USER, USERS, allowed, client_address
from ivr.web.keys import SERVICE

log = logging.getLogger(__name__)
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("ivr.web", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)
# Console pages other capabilities add: (path, title) shown in the navigation.
NAV = web.AppKey("nav", list)


def plan_timezone(request: web.Request) -> ZoneInfo:
    """Times on the console are shown in the plan's time zone."""
    live = request.app[SERVICE].plans.current
    return ZoneInfo(live.plan.timezone if live else "UTC")


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    if not raw.isdigit():
        raise web.HTTPNotFound()
    return int(raw)


def render(request: web.Request, template: str, http_status: int = 200, headers: dict | None = None,
           **context) -> web.Response:
    context.setdefault("tz", plan_timezone(request))
    user = request.get(USER)
    nav = [(href, title) for href, title in request.app[NAV] if user and allowed(user.role, "GET", href)]
    page_text = TEMPLATES.get_template(template).render(
        user=user, csrf=request[SESSION].csrf if SESSION in request else "",
        nav=nav, path=request.path, **context)
    return web.Response(text=page_text, status=http_status, content_type="text/html", headers=headers)


def page(handler):
    """Marks a console page: without a session a browser is sent to the login form, not given a 401."""
    handler.console_page = True
    return handler


async def login_form(request: web.Request) -> web.Response:
    return render(request, "login.html", next=request.query.get("next", "/"), error="")


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    target = str(form.get("next") or "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"                                   # no open redirect
    username, address = str(form.get("username", "")).strip().lower(), client_address(request)
    keys, throttle, audit = (f"user:{username}", f"addr:{address}"), request.app[THROTTLE], request.app[AUDIT]
    wait = throttle.retry_after(keys, time.monotonic())
    if wait:
        log.warning("login throttled user=%s address=%s retry_after=%s", username, address, wait)
        await audit.record(utc_now(), username, "login", address=address, outcome="throttled")
        return render(request, "login.html", http_status=429, headers={"Retry-After": str(wait)}, next=target,
                      error=f"Too many failed log-ins. Try again in {_duration(wait)}.")
    user = await request.app[USERS].authenticate(username, str(form.get("password", "")))
    if user is None:
        lock = throttle.failed(keys, time.monotonic())
        log.warning("login failed user=%s address=%s locked_for=%s", username, address, lock)
        await audit.record(utc_now(), username, "login", address=address, outcome="failed")
        return render(request, "login.html", http_status=401, next=target, error="Wrong user name or password.")
    throttle.succeeded(keys)
    await audit.record(utc_now(), user.username, "login", address=address)
    response = web.HTTPSeeOther(target)
    await request.app[SESSIONS].issue(response, user.id, utc_now())
    raise response


def _duration(seconds: int) -> str:
    return f"{seconds} seconds" if seconds < 120 else f"{round(seconds / 60)} minutes"


@page
async def logout(request: web.Request) -> web.Response:
    response = web.HTTPSeeOther("/login")
    await request.app[SESSIONS].revoke(request, response)
    await request.app[AUDIT].record(utc_now(), request[USER].username, "logout", address=client_address(request))
    raise response


def setup(app: web.Application) -> None:
    app[NAV] = []
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)


__all__ = ["page", "render", "setup", "path_id", "plan_timezone", "NAV", "USER", "SESSION"]
