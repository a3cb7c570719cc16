"""Who may call what: ONE table of routes and roles, and the one middleware that enforces it.

Every request goes through `guard`. Only PUBLIC routes (the login page and a minimal /status)
answer without credentials; the rest need a console session cookie or `Authorization: Bearer`.
A route missing from RULES is admin-only, so a route added later without an entry is closed,
never open. `admin` may do everything; each rule names the other roles allowed.

Cookie-authenticated writes also need a same-origin Origin (or Referer) and the session's CSRF
token; JSON endpoints refuse bodies that are not application/json (415). A rule with `audit`
writes an audit-log entry when the request succeeds. docs/security.md shows this table
(`markdown_table()`); a unit test keeps the two the same.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from aiohttp import web
from aiohttp.web_urldispatcher import StaticResource

from ivr.clock import utc_now
from ivr.errors import Forbidden, IvrError
from ivr.security.audit import AuditLog
from ivr.security.roles import ADMIN, DISPATCHER, INTEGRATION, OPS, SYSTEM, VIEWER
from ivr.security.login import Logins
from ivr.security.throttle import LoginThrottle
from ivr.security.tokens import TokenStore
from ivr.users import User, UserStore
from ivr.web.sessions import Session, Sessions

log = logging.getLogger(__name__)

USERS = web.AppKey("users", UserStore)
SESSIONS = web.AppKey("sessions", Sessions)
TOKENS = web.AppKey("tokens", TokenStore)
AUDIT = web.AppKey("audit", AuditLog)
THROTTLE = web.AppKey("throttle", LoginThrottle)
LOGINS = web.AppKey("logins", Logins)
# Origins a cookie-authenticated write may come from, besides the request's own (the public URL's).
ORIGINS = web.AppKey("origins", frozenset)
PROXIES = web.AppKey("proxies", frozenset)       # addresses whose X-Forwarded-For is believed
USER = web.RequestKey("user", User)              # a token's caller is User(0, "token:NAME", role, "")
SESSION = web.RequestKey("session", Session)     # only for console sessions

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PUBLIC = frozenset({("GET", "/login"), ("POST", "/login"), ("GET", "/status")})
READERS = (OPS, DISPATCHER, VIEWER)


@dataclass(frozen=True)
class Rule:
    method: str
    path: str                    # the route as registered, e.g. /api/missed/{id}/take
    roles: tuple[str, ...]       # besides admin
    audit: str = ""              # audit action; {name} is filled from the path's parts
    accepts: str = ""            # body of a write: json (default under /api/), csv, file (CSV or XLSX), or form (pages)
    own: str = ""                # a path part that must be the caller's own extension (admin: any)

    @property
    def body(self) -> str:
        return self.accepts or ("json" if self.path.startswith("/api/") else "form")


RULES: tuple[Rule, ...] = (
    # console pages
    Rule("GET", "/", READERS),
    Rule("POST", "/logout", READERS),
    Rule("GET", "/calls", READERS),
    Rule("GET", "/calls/{id}", READERS),
    # recordings: a dispatcher only of calls their extension took part in (ivr/web/recordings.py)
    Rule("GET", "/calls/{id}/recording", (OPS, DISPATCHER), audit="recording.play"),
    Rule("GET", "/missed", READERS),
    Rule("GET", "/missed/{id}", READERS),
    Rule("POST", "/missed/{id}/{action}", (DISPATCHER,), audit="missed.{action}"),
    Rule("GET", "/missed/{id}/voicemail", (DISPATCHER, OPS), audit="recording.voicemail"),
    Rule("GET", "/contacts", READERS),
    Rule("POST", "/contacts/import", (DISPATCHER,), audit="contacts.import"),
    Rule("GET", "/contacts/export", (DISPATCHER, OPS)),
    Rule("GET", "/call-cards", READERS),
    Rule("GET", "/campaigns", READERS),
    Rule("GET", "/campaigns/{id}", READERS),
    Rule("GET", "/campaigns/{id}/live", READERS),
    Rule("GET", "/campaigns/{id}/export.csv", (OPS, DISPATCHER, VIEWER)),
    Rule("GET", "/campaigns/{id}/export", (OPS, DISPATCHER, VIEWER)),
    Rule("GET", "/campaigns/template", READERS),
    Rule("POST", "/campaigns/{id}/rows/{row}/call", (OPS,), audit="campaign.call-again"),
    Rule("POST", "/campaigns/{id}/rows/{row}/done", (OPS, DISPATCHER), audit="campaign.done"),
    Rule("GET", "/mailbox", ()),
    Rule("POST", "/language", READERS),
    Rule("GET", "/dashboard/live", READERS),
    Rule("GET", "/api/dashboard", READERS),
    Rule("GET", "/reports", READERS),
    Rule("GET", "/reports/{name}", READERS),
    Rule("GET", "/reports/{name}/export.{format}", READERS),
    Rule("GET", "/api/reports/{name}", READERS),
    Rule("POST", "/reports/spend", (), audit="reports.spend"),
    Rule("POST", "/api/reports/spend", (), audit="reports.spend"),
    Rule("GET", "/api/staff", READERS),
    Rule("POST", "/api/staff/{ext}/dnd", (DISPATCHER,), audit="staff.dnd", own="ext"),
    Rule("GET", "/phones", READERS),
    Rule("POST", "/phones/{ext}/dnd", (DISPATCHER,), audit="staff.dnd", own="ext"),
    Rule("GET", "/api/rosters", READERS),
    Rule("POST", "/api/rosters/{name}/{day}", (OPS,), audit="roster.set"),
    Rule("GET", "/rosters", READERS),
    Rule("POST", "/rosters/{name}/{day}", (OPS,), audit="roster.set"),
    Rule("GET", "/api/voicemail/{ext}", (DISPATCHER, OPS), own="ext"),
    Rule("GET", "/queues", READERS),
    Rule("GET", "/queues/live", READERS),
    Rule("POST", "/queues/agents/{ext}/{action}", (DISPATCHER,), audit="queue.{action}", own="ext"),
    Rule("GET", "/campaigns/new", (OPS,)),
    Rule("POST", "/campaigns/new", (OPS,), audit="campaign.create"),
    Rule("POST", "/campaigns/{id}/{command}", (OPS,), audit="campaign.{command}"),
    Rule("GET", "/plan", ()),
    Rule("GET", "/plan/versions/{version}.yaml", ()),
    Rule("POST", "/plan/check", (), audit="plan.upload"),
    Rule("POST", "/plan/rollback", (), audit="plan.rollback"),
    Rule("GET", "/users", ()),
    Rule("POST", "/users", (), audit="user.add"),
    Rule("POST", "/users/{id}", (), audit="user.change"),
    Rule("GET", "/password", READERS),
    Rule("POST", "/password", READERS, audit="user.password"),
    Rule("GET", "/audit", ()),
    # calls and plan
    Rule("GET", "/api/calls", READERS),
    Rule("GET", "/api/calls/{id}", READERS),
    Rule("GET", "/api/calls/{id}/recording", (OPS, DISPATCHER), audit="recording.download"),
    Rule("POST", "/api/calls/outbound", (SYSTEM,)),
    Rule("POST", "/api/calls/{id}/transfer", (DISPATCHER, OPS), audit="call.transfer"),
    Rule("POST", "/calls/{id}/transfer", (DISPATCHER, OPS), audit="call.transfer"),
    Rule("POST", "/api/plan/reload", (), audit="plan.reload"),
    Rule("GET", "/api/route", (OPS, VIEWER, SYSTEM)),
    Rule("GET", "/api/reports/trunks", (OPS, VIEWER)),
    Rule("GET", "/api/trunks", READERS),
    Rule("GET", "/trunks", READERS),
    Rule("GET", "/metrics", (VIEWER,)),          # Prometheus scrapes with a viewer token
    # missed calls, contacts, notifications
    Rule("GET", "/api/missed", READERS),
    Rule("GET", "/api/missed/report", READERS),
    Rule("GET", "/api/missed/{id}", READERS),
    Rule("GET", "/api/missed/{id}/voicemail", (DISPATCHER, OPS), audit="recording.voicemail"),
    Rule("POST", "/api/missed/{id}/take", (DISPATCHER,), audit="missed.take"),
    Rule("POST", "/api/missed/{id}/release", (DISPATCHER,), audit="missed.release"),
    Rule("POST", "/api/missed/{id}/close", (DISPATCHER,), audit="missed.close"),
    Rule("POST", "/api/missed/{id}/callback", (DISPATCHER,), audit="missed.callback"),
    Rule("GET", "/api/notifications/outbox", (OPS, VIEWER)),
    Rule("GET", "/api/contacts", READERS),
    Rule("POST", "/api/contacts", (DISPATCHER,), audit="contacts.add"),
    Rule("GET", "/api/contacts/export", (DISPATCHER, OPS)),
    Rule("POST", "/api/contacts/import", (DISPATCHER,), audit="contacts.import", accepts="csv"),
    Rule("GET", "/api/contacts/{id}", READERS),
    Rule("PUT", "/api/contacts/{id}", (DISPATCHER,), audit="contacts.update"),
    Rule("DELETE", "/api/contacts/{id}", (DISPATCHER,), audit="contacts.delete"),
    Rule("GET", "/api/cards", READERS),
    # queues: a dispatcher changes only their own extension's state
    Rule("GET", "/api/queues", READERS),
    Rule("GET", "/api/queues/callbacks", READERS),
    Rule("POST", "/api/queues/agents/{ext}/{action}", (DISPATCHER,), audit="queue.{action}", own="ext"),
    # campaigns: the integration API
    Rule("POST", "/api/campaigns", (OPS, INTEGRATION), audit="campaign.create"),
    Rule("POST", "/api/campaigns/import", (OPS, INTEGRATION), audit="campaign.create", accepts="file"),
    Rule("GET", "/api/campaigns/template", (OPS, INTEGRATION)),
    Rule("POST", "/api/campaigns/{id}/rows/{row}/call", (OPS,), audit="campaign.call-again"),
    Rule("GET", "/api/campaigns/{id}", (OPS, DISPATCHER, VIEWER, INTEGRATION)),
    Rule("GET", "/api/campaigns/{id}/export", (OPS, DISPATCHER, VIEWER, INTEGRATION)),
    Rule("GET", "/api/campaigns/{id}/progress", (OPS, DISPATCHER, VIEWER, INTEGRATION)),
    Rule("POST", "/api/campaigns/{id}/done", (OPS, DISPATCHER, INTEGRATION), audit="campaign.done"),
    Rule("POST", "/api/campaigns/{id}/{command}", (OPS, INTEGRATION), audit="campaign.{command}"),
)
_BY_ROUTE = {(r.method, r.path): r for r in RULES}
ADMIN_ONLY = Rule("*", "(any route not listed)", ())


class Unauthenticated(IvrError):
    status_code = 401
    error_id = "unauthenticated"
    headers = {"WWW-Authenticate": 'Bearer realm="ivr"'}


class CrossSite(IvrError):
    status_code = 403
    error_id = "cross-site"


class UnsupportedBody(IvrError):
    status_code = 415
    error_id = "unsupported-media-type"


def rule_for(method: str, path: str) -> Rule:
    return _BY_ROUTE.get(("GET" if method == "HEAD" else method, path), ADMIN_ONLY)


def allowed(role: str, method: str, path: str) -> bool:
    return role == ADMIN or role in rule_for(method, path).roles


def markdown_table() -> str:
    """The table of docs/security.md."""
    lines = ["| Method | Route | Roles (admin always) | Audited as |", "|---|---|---|---|"]
    lines += [f"| {m} | `{p}` | public | |" for m, p in sorted(PUBLIC, key=lambda k: (k[1], k[0]))]
    for r in RULES:
        roles = ", ".join((ADMIN, *r.roles)) + (f" (own `{{{r.own}}}` only)" if r.own else "")
        lines.append(f"| {r.method} | `{r.path}` | {roles} | {r.audit} |")
    lines.append(f"| any | {ADMIN_ONLY.path} | admin | |")
    return "\n".join(lines) + "\n"


def client_address(request: web.Request) -> str:
    """The client's address; behind a trusted reverse proxy, the one it appended to X-Forwarded-For."""
    remote = request.remote or ""
    if remote in request.app[PROXIES] and (forwarded := request.headers.get("X-Forwarded-For", "")):
        return forwarded.rsplit(",", 1)[-1].strip()
    return remote


async def _authenticate(request: web.Request) -> tuple[User, Session | None] | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        token = await request.app[TOKENS].verify(secret.strip(), utc_now()) if scheme.lower() == "bearer" else None
        if token is None:
            raise Unauthenticated("the API token is unknown, expired or revoked")
        return User(0, f"token:{token.name}", token.role, ""), None
    session = await request.app[SESSIONS].read(request, utc_now())
    if session is None:
        return None
    try:
        return await request.app[USERS].get(session.user_id), session
    except IvrError:
        return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def _check_cross_site(request: web.Request, session: Session) -> None:
    """A write carried by a cookie must come from our own pages: same origin and the CSRF token."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or _origin(source) not in {*request.app[ORIGINS], _origin(str(request.url))}:
        raise CrossSite(f"a request from {source or 'an unknown page'} may not change anything here")
    token = request.headers.get("X-CSRF-Token")
    if token is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        token = (await request.post()).get("csrf")
    if token != session.csrf:
        raise CrossSite("the form expired; reload the page and try again")


def _check_body(request: web.Request, rule: Rule) -> None:
    if not request.body_exists:
        return
    kind = request.content_type
    expected = {"json": ("application/json",), "csv": ("text/csv", "text/plain"),
                "file": ("text/csv", "text/plain", "application/octet-stream",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                "form": ("application/x-www-form-urlencoded", "multipart/form-data")}[rule.body]
    if kind not in expected:
        raise UnsupportedBody(f"{request.method} {request.path} takes {expected[0]}, not {kind or 'an untyped body'}")


async def _audit(request: web.Request, rule: Rule, user: User, status: int) -> None:
    if not rule.audit or status >= 400:
        return
    action = rule.audit.format_map(dict(request.match_info))[:40]
    await request.app[AUDIT].record(utc_now(), user.username, action, request.path, client_address(request))


@web.middleware
async def guard(request: web.Request, handler):
    resource = request.match_info.route.resource
    if resource is None or isinstance(resource, StaticResource):
        return await handler(request)                      # 404/405 of the router, static files
    method, path = request.method, resource.canonical
    if (("GET" if method == "HEAD" else method), path) in PUBLIC:
        return await handler(request)
    found = await _authenticate(request)
    if found is None:
        if method in SAFE_METHODS and getattr(request.match_info.handler, "console_page", False):
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs)}")
        raise Unauthenticated("log in or send 'Authorization: Bearer <token>'")
    user, session = found
    rule = rule_for(method, path)
    if not allowed(user.role, method, path):
        log.warning("refused user=%s role=%s %s %s", user.username, user.role, method, request.path)
        raise Forbidden(f"the role {user.role!r} may not {method} {path}",
                        {"role": user.role, "allowed": [ADMIN, *rule.roles]})
    if rule.own and user.role != ADMIN and request.match_info[rule.own] != user.extension:
        raise Forbidden(f"{user.username} may change only their own extension ({user.extension or 'none set'})")
    request[USER] = user
    if session is not None:
        request[SESSION] = session
    if method not in SAFE_METHODS:
        _check_body(request, rule)
        if session is not None:
            await _check_cross_site(request, session)
    try:
        response = await handler(request)
    except web.HTTPException as e:                         # a console action's redirect is its success
        await _audit(request, rule, user, e.status)
        raise
    await _audit(request, rule, user, response.status)
    return response


def setup(app: web.Application, users: UserStore, sessions: Sessions, tokens: TokenStore, audit: AuditLog,
          public_url: str, trusted_proxies: str = "") -> None:
    app[USERS], app[SESSIONS], app[TOKENS], app[AUDIT] = users, sessions, tokens, audit
    app[THROTTLE] = LoginThrottle()
    app[LOGINS] = Logins(users, app[THROTTLE], audit)
    app[ORIGINS] = frozenset({_origin(public_url)})
    app[PROXIES] = frozenset(a.strip() for a in trusted_proxies.split(",") if a.strip())
    app.middlewares.append(guard)



if __name__ == "__main__":
    # `python -m ivr.web.access`: rewrite the table in docs/security.md after changing RULES.
    from ivr.config import ROOT
    docs = ROOT / "docs" / "security.md"
    text = docs.read_text(encoding="utf-8")
    start, end = "<!-- routes: generated from ivr/web/access.py -->\n", "<!-- /routes -->"
    docs.write_text(text[:text.index(start) + len(start)] + markdown_table() + text[text.index(end):], encoding="utf-8")
    print(f"{docs}: route table updated")
