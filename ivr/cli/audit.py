"""`ivr audit`: who did what and when (logins, missed-call actions, campaigns, plans, users, tokens,
recordings), newest first."""
from __future__ import annotations

import argparse
import asyncio
import json

from ivr.clock import parse_aware
from ivr.config import Settings
from ivr.security.audit import AuditLog
from ivr.store.db import open_database
from ivr.terms import audit_outcome


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("audit", help="the audit log")
    parser.add_argument("--since", help="ISO time with offset")
    parser.add_argument("--action", help="e.g. login, missed.take, campaign.create, token.revoke")
    parser.add_argument("--actor", help="a user name, token:NAME or cli:USER")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.set_defaults(handler=audit_command)


def audit_command(args: argparse.Namespace, settings: Settings) -> int:
    since = parse_aware(args.since, "--since") if args.since else None

    async def run():
        db = await open_database(settings.database_url, settings)
        try:
            return await AuditLog(db).list(limit=args.limit, since=since, action=args.action, actor=args.actor)
        finally:
            await db.close()

    for e in asyncio.run(run()):
        if args.json:
            print(json.dumps(e.to_dict(), ensure_ascii=False))
        else:
            print(f"{e.at.isoformat(timespec='seconds')}  {e.actor:20} {e.action:20} {audit_outcome(e.outcome):9} "
                  f"{e.address:15} {e.target}")
    return 0
