"""`ivr campaign`: import passengers from CSV, start/pause/resume/cancel, show progress, export."""
from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from pathlib import Path

from ivr.campaigns.config import campaigns_file, load_profiles
from ivr.campaigns.importer import read_csv
from ivr.campaigns.service import create_campaign, profile_named, trunk_report
from ivr.campaigns.store import TRANSITIONS, CampaignStore
from ivr.clock import Clock
from ivr.config import Settings
from ivr.errors import InvalidInput
from ivr.plan.loader import load_plan
from ivr.routing.carriers import load_carrier_table
from ivr.routing.lookup import CarrierLookup
from ivr.routing.router import OPERATORS_FILE
from ivr.store.db import open_database

BAR = 30
EXPORT_COLUMNS = ("name", "phone", "trip_id", "route", "departure", "seat", "bus", "platform", "language",
                  "status", "result", "attempts", "digit", "answered_at")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("campaign", help="outbound trip-confirmation campaigns")
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
    show.set_defaults(handler=show_command)
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
    campaign, added = _run(settings, lambda store: create_campaign(store, args.name, profile, plan,
                                                                   result.passengers, now))
    print(f"campaign {campaign.id} '{campaign.name}' ({profile.name}): {added} passengers, "
          f"{result.merged} merged, {result.refused} rows refused of {result.rows_read}")
    return 0


def change_command(args: argparse.Namespace, settings: Settings) -> int:
    now = Clock(settings.fixed_now()).now()
    campaign = _run(settings, lambda store: store.change(args.id, args.command_name, now))
    print(f"campaign {campaign.id}: {campaign.status}")
    return 0


def show_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: CampaignStore):
        return await store.get(args.id), await store.counts(args.id), await store.attempts(args.id)

    campaign, counts, attempts = _run(settings, work)
    total = sum(counts["status"].values())
    settled = counts["status"].get("done", 0) + counts["status"].get("cancelled", 0)
    filled = BAR * settled // total if total else BAR
    print(f"campaign {campaign.id} '{campaign.name}' ({campaign.profile}) {campaign.status}")
    print(f"[{'#' * filled}{'.' * (BAR - filled)}] {settled}/{total}")
    for name, n in sorted(counts["status"].items()):
        print(f"  {name:12} {n}")
    for name, n in sorted(counts["result"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:12} {n}")
    if attempts:
        plan = load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file))
        lookup = CarrierLookup(settings.var / "numbering", load_carrier_table(settings.path(OPERATORS_FILE)))
        report = trunk_report(attempts, plan, lookup)
        print(f"  {'trunk':12} {'calls':>6} {'answered':>8} {'minutes':>8} {'cost':>8}")
        for row in report["trunks"]:
            print(f"  {row['trunk']:12} {row['calls']:>6} {row['answered']:>8} {row['minutes']:>8.2f} "
                  f"{row['cost']:>8.2f}")
        print(f"  cost {report['cost']:.2f}, through {report['default_trunk']} alone {report['default_cost']:.2f}, "
              f"saving {report['saving']:.2f}")
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


def write_export(out, rows, attempts) -> None:
    answers = {a.row_id: a for a in attempts if a.answer}
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for r in rows:
        p, a = r.passenger, answers.get(r.id)
        writer.writerow([p.name, p.phone, p.trip_id, p.route, p.departure.isoformat() if p.departure else "",
                         p.seat, p.bus, p.platform, p.language, r.status, r.result, r.attempts,
                         a.digit if a else "", a.answered_at.isoformat() if a and a.answered_at else ""])
