"""`ivr tokens ...`: API tokens for integrations and scripts (`Authorization: Bearer ...`)."""
from __future__ import annotations

import argparse
import asyncio

from ivr.clock import utc_now
from ivr.config import Settings
from ivr.i18n import _
from ivr.security.audit import AuditLog, cli_actor
from ivr.security.roles import ROLES
from ivr.security.tokens import TokenStore, parse_expiry
from ivr.store.db import open_database


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tokens", help="API tokens (create, list, revoke)")
    actions = parser.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a token; it is shown once")
    create.add_argument("name", help="who or what uses it, e.g. booking-system")
    create.add_argument("--role", choices=ROLES, required=True)
    create.add_argument("--expires", help="12h, 30d, 8w or an ISO time with offset (default: never)")
    create.set_defaults(handler=create_command)
    listing = actions.add_parser("list", help="tokens (never their secrets)")
    listing.add_argument("--all", action="store_true", help="revoked ones too")
    listing.set_defaults(handler=list_command)
    revoke = actions.add_parser("revoke", help="revoke a token by id, or every token of a name")
    revoke.add_argument("token", help="id or name")
    revoke.set_defaults(handler=revoke_command)


def _run(settings: Settings, action):
    async def run():
        db = await open_database(settings.database_url, settings)
        try:
            return await action(TokenStore(db), AuditLog(db))
        finally:
            await db.close()

    return asyncio.run(run())


def create_command(args: argparse.Namespace, settings: Settings) -> int:
    now = utc_now()
    expires = parse_expiry(args.expires, now) if args.expires else None

    async def create(tokens: TokenStore, audit: AuditLog):
        token, secret = await tokens.create(args.name, args.role, now, expires)
        await audit.record(now, cli_actor(), "token.create", f"{token.name} #{token.id} ({token.role})")
        return token, secret

    token, secret = _run(settings, create)
    print(secret)
    until = _("until %(at)s", at=token.expires_at.isoformat(timespec="minutes")) if token.expires_at \
        else _("without expiry")
    print(_("token %(id)s '%(name)s' (role %(role)s) %(until)s; it is shown only this once. Send it as "
            "'Authorization: Bearer <token>'.", id=token.id, name=token.name, role=token.role, until=until), flush=True)
    return 0


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    tokens = _run(settings, lambda store, _audit: store.list(include_revoked=args.all))
    now = utc_now()
    print("{:>4}  {:24} {:12} {:17} {:17} {:17} {}".format(_("ID"), _("NAME"), _("ROLE"), _("CREATED"), _("EXPIRES"),
                                                           _("LAST USED"), _("STATE")))
    for t in tokens:
        state = _("active") if t.active(now) else _("revoked") if t.revoked_at else _("expired")
        print(f"{t.id:>4}  {t.name:24} {t.role:12} {_when(t.created_at):17} {_when(t.expires_at):17} "
              f"{_when(t.last_used_at):17} {state}")
    return 0


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def revoke_command(args: argparse.Namespace, settings: Settings) -> int:
    now = utc_now()

    async def revoke(tokens: TokenStore, audit: AuditLog):
        revoked = await tokens.revoke(args.token, now)
        for t in revoked:
            await audit.record(now, cli_actor(), "token.revoke", f"{t.name} #{t.id} ({t.role})")
        return revoked

    for t in _run(settings, revoke):
        print(_("token %(id)s '%(name)s' revoked; it is refused from now on", id=t.id, name=t.name))
    return 0
