"""`ivr roster`: who is on duty in the plan's rosters, and changes for single duty days.

    ivr roster                          every roster: on duty now and the next days
    ivr roster set NAME DATE EXT        EXT is on duty in NAME on DATE (a duty day)
    ivr roster clear NAME DATE          DATE goes back to what the plan says

Changes are stored in the database the service reads at each call, so they count at once.
"""
from __future__ import annotations

import argparse
import asyncio

from ivr.clock import Clock
from ivr.config import Settings
from ivr.flows import RUNNABLE
from ivr.plan.live import PlanHolder
from ivr.security.audit import cli_actor, record_from_cli
from ivr.sounds.catalog import PromptCatalog
from ivr.staff.rosters import Duty, Rosters, parse_day
from ivr.store.db import open_database
from ivr.store.plans import PlanStore

DAYS_SHOWN = 7


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("roster", help="on-duty rosters: who is on duty, changes for a day",
                                   description="On-duty rosters of the live plan (docs/plan-format.md#rosters).")
    parser.add_argument("--days", type=int, default=DAYS_SHOWN, help="days shown from today (default 7)")
    parser.set_defaults(handler=show_command)
    sub = parser.add_subparsers(dest="roster_command", metavar="set|clear")
    put = sub.add_parser("set", help="name who is on duty in a roster on one duty day")
    put.add_argument("name")
    put.add_argument("date", help="the duty day, e.g. 2026-12-31")
    put.add_argument("extension")
    put.set_defaults(handler=set_command)
    clear = sub.add_parser("clear", help="a duty day goes back to what the plan says")
    clear.add_argument("name")
    clear.add_argument("date")
    clear.set_defaults(handler=set_command, extension="")


async def _with_rosters(settings: Settings, act):
    db = await open_database(settings.database_url, settings)
    try:
        holder = PlanHolder(settings, PlanStore(db), PromptCatalog(settings), RUNNABLE)
        live = await holder.load()
        return await act(Rosters(db, Clock(settings.fixed_now()).now, lambda: live.plan))
    finally:
        await db.close()


def _line(d: Duty) -> str:
    who = f"{d.extension} {d.name}".strip() if d.extension else "nobody"
    by = f", by {d.changed_by}" if d.changed_by else ""
    return f"  {d.day:%a %Y-%m-%d}  {who:24} ({d.why}{by})"


def show_command(args: argparse.Namespace, settings: Settings) -> int:
    async def act(rosters: Rosters) -> list[str]:
        plan = rosters.plan()
        lines = []
        for name in sorted(plan.rosters):
            now = await rosters.on_duty(name)
            lines.append(f"{name}: on duty now {now.extension or 'nobody'} {now.name} ({now.why})".rstrip())
            lines += [_line(d) for d in await rosters.days(name, rosters.today(name), max(1, args.days))]
        return lines or ["no rosters in the plan"]
    for line in asyncio.run(_with_rosters(settings, act)):
        print(line)
    return 0


def set_command(args: argparse.Namespace, settings: Settings) -> int:
    day = parse_day(args.date)

    async def act(rosters: Rosters) -> Duty:
        return await rosters.set(args.name, day, args.extension, cli_actor())
    duty = asyncio.run(_with_rosters(settings, act))
    record_from_cli(settings, "roster.set", f"{duty.roster} {duty.day} {args.extension or 'as planned'}")
    print(f"{duty.roster}:" + _line(duty))
    return 0
