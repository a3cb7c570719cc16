"""The web console: server-rendered pages behind a login. Handlers read the request, call one
store or service, render one template."""
from __future__ import annotations

from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from ivr.errors import IvrError
from ivr.users import User, UserStore
from ivr.web.keys import SERVICE
from ivr.web.sessions import Session, Sessions

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("ivr.web", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)
USERS = web.AppKey("users", UserStore)
SESSIONS = web.AppKey("sessions", Sessions)
# Console pages other capabilities add: (path, title) shown in the navigation.
NAV = web.AppKey("nav", list)
USER = web.RequestKey("user", User)
SESSION = web.RequestKey("session", Session)


def plan_timezone(request: web.Request) -> ZoneInfo:
    """Times on the console are shown in the plan's time zone."""
    live = request.app[SERVICE].plans.current
    return ZoneInfo(live.plan.timezone if live else "UTC")


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    if not raw.isdigit():
        raise web.HTTPNotFound()
    return int(raw)


def render(request: web.Request, template: str, http_status: int = 200, **context) -> web.Response:
    context.setdefault("tz", plan_timezone(request))
    page = TEMPLATES.get_template(template).render(
        user=request.get(USER), csrf=request[SESSION].csrf if SESSION in request else "",
        nav=request.app[NAV], path=request.path, **context)
    return web.Response(text=page, status=http_status, content_type="text/html")


@web.middleware
async def console_auth(request: web.Request, handler):
    """Pages need a logged-in user; a POST needs the session's CSRF token."""
    if not getattr(handler, "console_page", False):
        return await handler(request)
    session = request.app[SESSIONS].read(request)
    if session is None:
        raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs)}")
    try:
        request[USER] = await request.app[USERS].get(session.user_id)
    except IvrError:
        raise web.HTTPSeeOther("/login") from None
    request[SESSION] = session
    if request.method == "POST":
        form = await request.post()
        if form.get("csrf") != session.csrf and request.headers.get("X-CSRF-Token") != session.csrf:
            raise web.HTTPForbidden(text="The form expired; reload the page and try again.")
    return await handler(request)


def page(handler):
    handler.console_page = True
    return handler


def admin_only(user: User) -> None:
    if user.role != "admin":
        raise web.HTTPForbidden(text="Only an administrator can do this.")


async def login_form(request: web.Request) -> web.Response:
    return render(request, "login.html", next=request.query.get("next", "/"), error="")


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    target = str(form.get("next") or "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"                                   # no open redirect
    user = await request.app[USERS].authenticate(str(form.get("username", "")).strip().lower(),
                                                 str(form.get("password", "")))
    if user is None:
        return render(request, "login.html", http_status=401, next=target,
                      error="Wrong user name or password.")
    response = web.HTTPSeeOther(target)
    request.app[SESSIONS].issue(response, user.id)
    raise response


@page
async def logout(request: web.Request) -> web.Response:
    response = web.HTTPSeeOther("/login")
    Sessions.clear(response)
    raise response


def setup(app: web.Application, users: UserStore, sessions: Sessions) -> None:
    app[USERS] = users
    app[SESSIONS] = sessions
    app[NAV] = []
    app.middlewares.append(console_auth)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)


__all__ = ["page", "render", "setup", "admin_only", "path_id", "plan_timezone", "NAV", "USER", "SESSION"]
