"""`ivr users ...`: staff accounts of the web console."""
from __future__ import annotations

import argparse
import asyncio
import getpass

from ivr.config import Settings
from ivr.i18n import _
from ivr.security.audit import record_from_cli
from ivr.security.roles import STAFF_ROLES
from ivr.store.db import open_database
from ivr.terms import role
from ivr.users import UserStore


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("users", help="web console accounts")
    actions = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a staff account")
    add.add_argument("username")
    add.add_argument("--role", choices=STAFF_ROLES, default="dispatcher")
    add.add_argument("--extension", default="", help="their own phone (call-back rings it first)")
    add.add_argument("--password", help="default: asked for (not echoed)")
    add.set_defaults(handler=add_command)
    passwd = actions.add_parser("passwd", help="set a new password; the user's console sessions end")
    passwd.add_argument("username")
    passwd.add_argument("--password", help="default: asked for (not echoed)")
    passwd.set_defaults(handler=passwd_command)
    listing = actions.add_parser("list", help="accounts and their roles")
    listing.set_defaults(handler=list_command)


def _run(settings: Settings, action):
    async def run():
        db = await open_database(settings.database_url, settings)
        try:
            return await action(UserStore(db))
        finally:
            await db.close()

    return asyncio.run(run())


def add_command(args: argparse.Namespace, settings: Settings) -> int:
    password = args.password or getpass.getpass(_("password for %(name)s: ", name=args.username))
    user = _run(settings, lambda users: users.add(args.username, password, args.role, args.extension))
    record_from_cli(settings, "user.add", f"{user.username} ({user.role})")
    print(_("user %(name)s (%(role)s) added", name=user.username, role=role(user.role)))
    return 0


def passwd_command(args: argparse.Namespace, settings: Settings) -> int:
    password = args.password or getpass.getpass(_("new password for %(name)s: ", name=args.username))
    user = _run(settings, lambda users: users.set_password(args.username, password))
    record_from_cli(settings, "user.password", user.username)
    print(_("password of %(name)s changed; their console sessions have ended", name=user.username))
    return 0


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    for user in _run(settings, lambda users: users.all()):
        print(f"{user.username:24} {role(user.role):14} {user.extension}")
    return 0
