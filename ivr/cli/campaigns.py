"""`ivr campaign`: import passengers from CSV, start/pause/resume/cancel, show or watch progress,
mark a row done by hand, export."""
from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

from ivr.campaigns.config import campaigns_file, load_profiles
from ivr.campaigns.progress import Progress, label
from ivr.campaigns.export import write_export
from ivr.campaigns.importer import read_csv
from ivr.campaigns.service import create_campaign, profile_named, trunk_report
from ivr.campaigns.store import TRANSITIONS, CampaignStore
from ivr.clock import Clock
from ivr.config import Settings
from ivr.errors import InvalidInput, IvrError
from ivr.plan.loader import load_plan
from ivr.routing.carriers import load_carrier_table
from ivr.routing.lookup import CarrierLookup
from ivr.routing.numbers import normalize
from ivr.routing.router import OPERATORS_FILE
from ivr.store.db import open_database

BAR = 30


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("campaign", aliases=["campaigns"], help="outbound trip-confirmation campaigns")
    sub = parser.add_subparsers(dest="campaign_command", required=True, metavar="ACTION")
    imp = sub.add_parser("import", help="create a campaign from a CSV file of passengers")
    imp.add_argument("file", type=Path)
    imp.add_argument("--name", required=True)
    imp.add_argument("--kind", default="confirm", help="campaign profile (config/campaigns.yaml)")
    imp.set_defaults(handler=import_command)
    for command in TRANSITIONS:
        p = sub.add_parser(command, help=f"{command} a campaign")
        p.add_argument("id", type=int)
        p.set_defaults(handler=change_command, command_name=command)
    show = sub.add_parser("show", help="progress and counts by outcome")
    show.add_argument("id", type=int)
    show.add_argument("--follow", action="store_true", help="keep showing progress until the campaign ends")
    show.add_argument("--interval", type=float, default=2.0, help=argparse.SUPPRESS)
    show.set_defaults(handler=show_command)
    watch = sub.add_parser("watch", help="live progress bar and counts by outcome until the campaign ends")
    watch.add_argument("id", type=int)
    watch.add_argument("--interval", type=float, default=2.0, help="seconds between updates (default 2)")
    watch.set_defaults(handler=watch_command)
    done = sub.add_parser("done", help="mark a passenger settled by hand: no more calls")
    done.add_argument("id", type=int, help="campaign")
    done.add_argument("row", metavar="ROW_ID|PHONE", help="a row id, or a phone (every open row of it)")
    done.add_argument("--answer", default="confirmed", help="confirmed (default), cancelled or understood")
    done.add_argument("--by", required=True, help="who settled it (a dispatcher's name)")
    done.set_defaults(handler=done_command)
    export = sub.add_parser("export", help="rows with their results as CSV")
    export.add_argument("id", type=int)
    export.add_argument("--output", type=Path, help="file to write (default: standard output)")
    export.set_defaults(handler=export_command)


def _run(settings: Settings, work):
    async def go():
        db = await open_database(settings.database_url, settings)
        try:
            return await work(CampaignStore(db))
        finally:
            await db.close()
    return asyncio.run(go())


def carrier_lookup(settings: Settings) -> CarrierLookup:
    return CarrierLookup(settings.var / "numbering", load_carrier_table(settings.path(OPERATORS_FILE)))


def import_command(args: argparse.Namespace, settings: Settings) -> int:
    plan = load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file))
    profile = profile_named(load_profiles(campaigns_file(settings), plan), args.kind)
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(f"cannot read {args.file}: {e}") from None
    result = read_csv(text, plan.country, plan.timezone, plan.languages)
    for issue in result.issues:
        print(f"{args.file}:{issue}" + ("" if issue.level == "error" else f" ({issue.level})"), file=sys.stderr)
    now = Clock(settings.fixed_now()).now()
    # The registry's region gives each callee's time zone (local calling hours), as for the API.
    lookup = carrier_lookup(settings)
    campaign, added = _run(settings, lambda store: create_campaign(store, args.name, profile, plan,
                                                                   result.passengers, now, lookup))
    print(f"campaign {campaign.id} '{campaign.name}' ({profile.name}): {added} passengers, "
          f"{result.merged} merged, {result.refused} rows refused of {result.rows_read}")
    return 0


def change_command(args: argparse.Namespace, settings: Settings) -> int:
    now = Clock(settings.fixed_now()).now()
    campaign = _run(settings, lambda store: store.change(args.id, args.command_name, now))
    print(f"campaign {campaign.id}: {campaign.status}")
    return 0


def show_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.follow:
        return watch_command(args, settings)

    async def work(store: CampaignStore):
        return await store.get(args.id), await store.counts(args.id), await store.attempts(args.id)

    campaign, counts, attempts = _run(settings, work)
    progress = Progress.of(campaign, counts)
    print(f"campaign {campaign.id} '{campaign.name}' ({campaign.profile}) {campaign.status}")
    print(progress.bar(BAR))
    for name, n in sorted(counts["status"].items()):
        print(f"  {name:12} {n}")
    for name, n in sorted(counts["result"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:12} {n}")
    if attempts:
        plan = load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file))
        report = trunk_report(attempts, plan, carrier_lookup(settings))
        print(f"  {'trunk':12} {'calls':>6} {'answered':>8} {'minutes':>8} {'cost':>8}")
        for row in report["trunks"]:
            print(f"  {row['trunk']:12} {row['calls']:>6} {row['answered']:>8} {row['minutes']:>8.2f} "
                  f"{row['cost']:>8.2f}")
        print(f"  cost {report['cost']:.2f}, through {report['default_trunk']} alone {report['default_cost']:.2f}, "
              f"saving {report['saving']:.2f}")
    return 0


def watch_command(args: argparse.Namespace, settings: Settings) -> int:
    """Progress until the campaign ends; Ctrl-C stops watching (the campaign goes on)."""
    try:
        _run(settings, lambda store: watch(store, args.id, sys.stdout, sys.stdout.isatty(), args.interval))
    except KeyboardInterrupt:
        print()
    return 0


async def watch(store: CampaignStore, campaign_id: int, out: TextIO, tty: bool, interval: float,
                width: int = BAR) -> Progress:
    """Redraw the bar and the counts in place on a terminal (ANSI cursor movement, no curses);
    elsewhere (a pipe, a log) one line per change. Returns the last progress, once it ended."""
    drawn = 0
    last = ""
    while True:
        progress = Progress.of(await store.get(campaign_id), await store.counts(campaign_id))
        if tty:
            c = progress.campaign
            lines = [f"campaign {c.id} '{c.name}' ({c.profile}) {c.status}",
                     f"{progress.bar(width)} {progress.percent}%  calling {progress.calling}",
                     "  " + ("  ".join(f"{label(o)} {n}" for o, n in progress.results()) or "no outcomes yet")]
            # Back to the first line drawn last time, clear to the end of the screen, draw again.
            out.write((f"\x1b[{drawn}F" if drawn else "") + "\x1b[J" + "\n".join(lines) + "\n")
            drawn = len(lines)
        elif (line := progress.line()) != last:
            out.write(f"{datetime.now().strftime('%H:%M:%S')} {line}\n")
            last = line
        out.flush()
        if progress.ended:
            return progress
        await asyncio.sleep(interval)


def done_command(args: argparse.Namespace, settings: Settings) -> int:
    target: int | str
    if args.row.isdigit() and len(args.row) < 10:
        target = int(args.row)
    else:
        plan = load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file))
        try:
            target = normalize(args.row, plan.country)
        except IvrError:
            raise InvalidInput(f"'{args.row}' is neither a row id nor a phone number") from None
    now = Clock(settings.fixed_now()).now()
    rows = _run(settings, lambda store: store.mark_done(args.id, target, args.answer, args.by, now))
    for row in rows:
        print(f"campaign {args.id} row {row.id} {row.passenger.name} {row.passenger.phone}: "
              f"{label(row.result)} by {args.by}")
    return 0


def export_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: CampaignStore):
        await store.get(args.id)
        return await store.rows(args.id), await store.attempts(args.id)

    rows, attempts = _run(settings, work)
    out = args.output.open("w", encoding="utf-8", newline="") if args.output else sys.stdout
    try:
        write_export(out, rows, attempts)
    finally:
        if args.output:
            out.close()
    return 0
