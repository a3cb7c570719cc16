"""`ivr users ...`: staff accounts of the web console."""
from __future__ import annotations

import argparse
import asyncio
import getpass

from ivr.config import Settings
from ivr.store.db import open_database
from ivr.users import ROLES, UserStore


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("users", help="web console accounts")
    actions = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a staff account")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, default="dispatcher")
    add.add_argument("--extension", default="", help="their own phone (call-back rings it first)")
    add.add_argument("--password", help="default: asked for (not echoed)")
    add.set_defaults(handler=add_command)


def add_command(args: argparse.Namespace, settings: Settings) -> int:
    password = args.password or getpass.getpass(f"password for {args.username}: ")

    async def add():
        db = await open_database(settings.database_url, settings)
        try:
            return await UserStore(db).add(args.username, password, args.role, args.extension)
        finally:
            await db.close()

    user = asyncio.run(add())
    print(f"user {user.username} ({user.role}) added")
    return 0
