"""The web console: server-rendered pages behind a login. Handlers read the request, call one
store or service, render one template. Who may open which page is decided in ivr/web/access.py."""
from __future__ import annotations

import functools
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from ivr import i18n
from ivr.clock import utc_now
from ivr.i18n import _
from ivr.plan.problem_text import message as problem_message
from ivr.terms import audit_outcome, role, source, step_details, step_name, term, trunk
from ivr.web.access import AUDIT, LOGINS, SESSION, SESSIONS, USER, USERS, allowed, client_address
from ivr.web.keys import PLANS

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("ivr.web", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    extensions=["jinja2.ext.i18n"],
)
TEMPLATES.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)   # type: ignore[attr-defined]
TEMPLATES.globals.update(languages=i18n.NAMES, number=i18n.number, percent=i18n.percent, duration=i18n.duration,
                         term=term, role=role, source=source, step_name=step_name, step_details=step_details, trunk=trunk,
                         audit_outcome=audit_outcome, problem_message=problem_message,
                         tr=i18n.gettext)      # tr: a text chosen at run time, no %-formatting
# Console pages other capabilities add: (path, title) shown in the navigation.
NAV = web.AppKey("nav", list)


def plan_timezone(request: web.Request) -> ZoneInfo:
    """Times on the console are shown in the plan's time zone."""
    live = request.app[PLANS].current
    return ZoneInfo(live.plan.timezone if live else "UTC")


def page_language(request: web.Request) -> str:
    """The user's choice, else the plan's language (Russian for a Russian company), else English."""
    user = request.get(USER)
    if user is not None and user.language:
        return user.language
    live = request.app[PLANS].current
    return i18n.supported(live.plan.language if live else None)


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    if not raw.isdigit():
        raise web.HTTPNotFound()
    return int(raw)


def render(request: web.Request, template: str, http_status: int = 200, headers: dict | None = None,
           **context) -> web.Response:
    tz = context.setdefault("tz", plan_timezone(request))
    i18n.use(page_language(request))
    user = request.get(USER)
    nav = [(href, title) for href, title in request.app[NAV] if user and allowed(user.role, "GET", href)]
    page_text = TEMPLATES.get_template(template).render(
        when=lambda v: i18n.when(v, tz), day_time=lambda v: i18n.day_time(v, tz),
        clock_time=lambda v: i18n.clock_time(v, tz), day=lambda v: i18n.day(v, tz), short_day=i18n.short_day,
        lang=i18n.current(), user=user, csrf=request[SESSION].csrf if SESSION in request else "",
        nav=nav, path=request.path, **context)
    return web.Response(text=page_text, status=http_status, content_type="text/html", headers=headers)


def page(handler):
    """Marks a console page: without a session a browser is sent to the login form, not given a 401;
    texts the handler makes are in the user's language."""
    @functools.wraps(handler)
    async def in_language(request: web.Request) -> web.StreamResponse:
        i18n.use(page_language(request))
        return await handler(request)
    in_language.console_page = True           # type: ignore[attr-defined]
    return in_language


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
    tried = await request.app[LOGINS].log_in(str(form.get("username", "")).strip().lower(),
                                             str(form.get("password", "")), client_address(request))
    if tried.retry_after:
        return render(request, "login.html", http_status=429, headers={"Retry-After": str(tried.retry_after)},
                      next=target, error=_("Too many failed log-ins. Try again in %(wait)s.",
                                           wait=i18n.duration(tried.retry_after)))
    if tried.user is None:
        return render(request, "login.html", http_status=401, next=target, error=_("Wrong user name or password."))
    response = web.HTTPSeeOther(target)
    await request.app[SESSIONS].issue(response, tried.user.id, utc_now())
    raise response


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
    app.router.add_post("/language", choose_language)


__all__ = ["page", "render", "setup", "path_id", "plan_timezone", "NAV", "USER", "SESSION"]
