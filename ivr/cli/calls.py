"""`ivr calls`: the call log, as a table or JSON."""
from __future__ import annotations

import argparse
import asyncio
import json

from ivr.clock import parse_aware
from ivr.config import Settings
from ivr.i18n import _
from ivr.store.calls import CallStore
from ivr.store.db import open_database
from ivr.terms import source, step_details, step_name, term


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
    print("{:>5}  {:19}  {:14}  {:14}  {:14}  {:>5}  {}".format(
        _("id"), _("started"), _("caller"), _("number"), _("source"), _("secs"), _("outcome")))
    for c in calls:
        secs = f"{c.duration:.0f}" if c.duration is not None else "-"
        outcome = term(c.outcome or "in_progress")
        if c.answered_by:
            outcome = _("%(outcome)s by %(who)s", outcome=outcome, who=c.answered_by)
        print(f"{c.id:>5}  {c.started_at.astimezone():%Y-%m-%d %H:%M:%S}  {c.caller:14}  "
              f"{c.company_number:14}  {source(c.source):14}  {secs:>5}  {outcome}")
        if args.id is not None:
            for s in c.steps:
                data = "; ".join(f"{label}: {value}" for label, value in step_details(s.data))
                print(f"       {s.at.astimezone():%H:%M:%S.%f}"[:-3] + f"  {s.node:14} {step_name(s.kind):16} {data}")
    return 0
