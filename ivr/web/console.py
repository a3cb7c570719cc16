"""The web console: server-rendered pages behind a login. Handlers read the request, call one
store or service, render one template."""
from __future__ import annotations

from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from ivr import i18n
from ivr.errors import IvrError
from ivr.i18n import _
from ivr.users import User, UserStore
from ivr.web.terms import term
from ivr.web.keys import SERVICE
from ivr.web.sessions import Session, Sessions

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("ivr.web", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    extensions=["jinja2.ext.i18n"],
)
TEMPLATES.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)   # type: ignore[attr-defined]
TEMPLATES.globals.update(languages=i18n.NAMES, number=i18n.number, percent=i18n.percent, duration=i18n.duration,
                         term=term, tr=i18n.gettext)      # tr: a text chosen at run time, no %-formatting
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


def page_language(request: web.Request) -> str:
    """The user's choice, else the plan's language (Russian for a Russian company), else English."""
    user = request.get(USER)
    if user is not None and user.language:
        return user.language
    live = request.app[SERVICE].plans.current
    return i18n.supported(live.plan.language if live else None)


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    if not raw.isdigit():
        raise web.HTTPNotFound()
    return int(raw)


def render(request: web.Request, template: str, http_status: int = 200, **context) -> web.Response:
    tz = context.setdefault("tz", plan_timezone(request))
    i18n.use(page_language(request))
    page = TEMPLATES.get_template(template).render(
        when=lambda v: i18n.when(v, tz), day_time=lambda v: i18n.day_time(v, tz),
        clock_time=lambda v: i18n.clock_time(v, tz), day=lambda v: i18n.day(v, tz), short_day=i18n.short_day,
        lang=i18n.current(),
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
    i18n.use(page_language(request))
    if request.method == "POST":
        form = await request.post()
        if form.get("csrf") != session.csrf and request.headers.get("X-CSRF-Token") != session.csrf:
            raise web.HTTPForbidden(text=_("The form expired; reload the page and try again."))
    return await handler(request)


def page(handler):
    handler.console_page = True
    return handler


def admin_only(user: User) -> None:
    if user.role != "admin":
        raise web.HTTPForbidden(text=_("Only an administrator can do this."))


@page
async def choose_language(request: web.Request) -> web.Response:
    """The language switch in the header: saved with the user."""
    form = await request.post()
    choice = str(form.get("language", ""))
    if choice in i18n.LANGUAGES:
        await request.app[USERS].set_language(request[USER].id, choice)
    target = str(form.get("next") or "/")
    raise web.HTTPSeeOther(target if target.startswith("/") and not target.startswith("//") else "/")


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
                      error=_("Wrong user name or password."))
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
    app.router.add_post("/language", choose_language)


__all__ = ["page", "render", "setup", "admin_only", "path_id", "plan_timezone", "NAV", "USER", "SESSION"]
