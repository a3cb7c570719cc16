"""The users page (administrators): every console user with their role and phone extension, adding a
user, changing role and extension, and a new password for someone who forgot theirs (shown once);
and /password, where anyone logged in changes their own password."""
from __future__ import annotations

import secrets
from urllib.parse import urlencode

from aiohttp import web

from ivr.clock import utc_now
from ivr.errors import IvrError
from ivr.i18n import _, lazy
from ivr.security.roles import STAFF_ROLES
from ivr.users import WrongPassword
from ivr.web.access import SESSIONS
from ivr.web.console import NAV, USER, USERS, page, path_id, render


@page
async def users_page(request: web.Request) -> web.Response:
    return render(request, "users.html", users=await request.app[USERS].all(), roles=STAFF_ROLES,
                  message=request.query.get("message", ""))


def _back(message: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/users?{urlencode({'message': message})}")


@page
async def add_user(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        user = await request.app[USERS].add(str(form.get("username", "")).strip().lower(), str(form.get("password", "")),
                                            str(form.get("role", "")), str(form.get("extension", "")).strip())
        message = _("User %(name)s added.", name=user.username)
    except IvrError as e:
        message = e.message
    raise _back(message)


@page
async def change_user(request: web.Request) -> web.Response:
    form = await request.post()
    users = request.app[USERS]
    try:
        if form.get("action") == "password":
            password = secrets.token_urlsafe(9)
            user = await users.set_password((await users.get(path_id(request))).username, password)
            message = _("New password for %(name)s: %(password)s (shown once: pass it on now).",
                        name=user.username, password=password)
        else:
            user = await users.update(path_id(request), str(form.get("role", "")), str(form.get("extension", "")).strip())
            message = _("%(name)s saved.", name=user.username)
    except IvrError as e:
        message = e.message
    raise _back(message)


def _to_password(message: str) -> str:
    return f"/password?{urlencode({'message': message})}"


@page
async def password_page(request: web.Request) -> web.Response:
    return render(request, "password.html", message=request.query.get("message", ""))


@page
async def change_password(request: web.Request) -> web.Response:
    """The current password, then the new one twice; the new one must be strong. Every session of
    the user ends (a copied cookie is worth nothing); this browser gets a fresh one."""
    form = await request.post()
    user, new = request[USER], str(form.get("new", ""))
    if new != str(form.get("again", "")):
        raise web.HTTPSeeOther(_to_password(_("The two new passwords differ.")))
    try:
        await request.app[USERS].change_password(user.username, str(form.get("current", "")), new)
    except WrongPassword:
        raise web.HTTPSeeOther(_to_password(_("The current password is wrong."))) from None
    except IvrError as e:
        raise web.HTTPSeeOther(_to_password(e.message)) from None
    response = web.HTTPSeeOther(_to_password(_("Password changed. Your other sessions are logged out.")))
    await request.app[SESSIONS].issue(response, user.id, utc_now())
    raise response


def setup(app: web.Application) -> None:
    app[NAV].append(("/users", lazy("Users")))
    app.router.add_get("/users", users_page)
    app.router.add_post("/users", add_user)
    app.router.add_post("/users/{id}", change_user)
    app.router.add_get("/password", password_page)
    app.router.add_post("/password", change_password)
