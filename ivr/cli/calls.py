"""`ivr calls`: the call log, as a table or JSON."""
from __future__ import annotations

import argparse
import asyncio
import json
from ivr.config import Settings
from ivr.clock import parse_aware
from ivr.store.calls import CallStore
from ivr.store.db import open_database


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("calls", help="list recent calls",
                                   description="The call log: newest first.")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--outcome", help="only calls with this outcome (e.g. answered)")
    parser.add_argument("--since", help="only calls from this time on (ISO 8601 with offset)")
    parser.add_argument("--id", type=int, help="one call with every step")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=calls_command)


def calls_command(args: argparse.Namespace, settings: Settings) -> int:
    async def fetch():
        db = await open_database(settings.database_url, settings)
        try:
            store = CallStore(db)
            if args.id is not None:
                return [await store.get(args.id)]
            return await store.list(limit=args.limit, since=parse_aware(args.since, '--since') if args.since else None, outcome=args.outcome)
        finally:
            await db.close()

    calls = asyncio.run(fetch())
    if args.json:
        print(json.dumps([c.to_dict() for c in calls], ensure_ascii=False, indent=2))
        return 0
    print(f"{'id':>5}  {'started':19}  {'caller':14}  {'number':14}  {'source':14}  {'secs':>5}  outcome")
    for c in calls:
        secs = f"{c.duration:.0f}" if c.duration is not None else "-"
        outcome = c.outcome or "in progress"
        if c.answered_by:
            outcome += f" by {c.answered_by}"
        print(f"{c.id:>5}  {c.started_at.astimezone():%Y-%m-%d %H:%M:%S}  {c.caller:14}  "
              f"{c.company_number:14}  {c.source:14}  {secs:>5}  {outcome}")
        if args.id is not None:
            for s in c.steps:
                data = " ".join(f"{k}={v}" for k, v in s.data.items())
                print(f"       {s.at.astimezone():%H:%M:%S.%f}"[:-3] + f"  {s.node:14} {s.kind:16} {data}")
    return 0
