"""The audit log in the console (admins only, see ivr/web/access.py): the latest entries, filtered
by action or actor."""
from __future__ import annotations

from aiohttp import web

from ivr.i18n import lazy
from ivr.web.access import AUDIT
from ivr.web.console import NAV, page, render


@page
async def audit_page(request: web.Request) -> web.Response:
    action, actor = request.query.get("action", "").strip(), request.query.get("actor", "").strip()
    entries = await request.app[AUDIT].list(limit=300, action=action or None, actor=actor or None)
    return render(request, "audit.html", entries=entries, action=action, actor=actor)


def setup(app: web.Application) -> None:
    app[NAV].append(("/audit", lazy("Audit")))
    app.router.add_get("/audit", audit_page)
