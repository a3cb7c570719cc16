"""`ivr campaign`: import passengers from CSV or XLSX, a template to fill in, start/pause/resume/
cancel, show or watch progress (every row's next call with --rows), call a row again now, mark a
row done by hand, export (CSV with `;` and a BOM, or XLSX, in the user's language)."""
from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from ivr import i18n
from ivr.campaigns.config import campaigns_file, load_profiles, load_route_zones
from ivr.campaigns.export import FORMATS, LANGUAGES, export_file, template_file
from ivr.campaigns.importer import read_file
from ivr.campaigns.progress import STATUS_LABELS, Progress, label
from ivr.campaigns.service import add_passengers, profile_named, trunk_report
from ivr.campaigns.store import TRANSITIONS, CampaignStore
from ivr.clock import Clock
from ivr.config import Settings
from ivr.errors import InvalidInput, IvrError
from ivr.i18n import _
from ivr.plan.loader import load_plan
from ivr.routing.carriers import load_carrier_table
from ivr.routing.lookup import CarrierLookup
from ivr.routing.numbers import normalize
from ivr.routing.router import OPERATORS_FILE
from ivr.store.db import open_database
from ivr.terms import term

BAR = 30


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("campaign", aliases=["campaigns"], help="outbound trip-confirmation campaigns")
    sub = parser.add_subparsers(dest="campaign_command", required=True, metavar="ACTION")
    imp = sub.add_parser("import", help="create a campaign from a CSV or XLSX file of passengers",
                         description="CSV in UTF-8 (with or without a BOM) or Windows-1251, separated by ';', "
                                     "',' or tabs, or XLSX. Column names in Russian or English: "
                                     "docs/campaigns.md; `ivr campaign template` writes a file to fill in.")
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
    show.add_argument("--rows", action="store_true", help="list every row with its result and next call")
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
    call = sub.add_parser("call", help="call one row again now (a passenger cut off or given up on)")
    call.add_argument("id", type=int, help="campaign")
    call.add_argument("row", type=int, metavar="ROW_ID")
    call.set_defaults(handler=call_command)
    export = sub.add_parser("export", help="rows with their results as CSV (';', BOM) or XLSX")
    export.add_argument("id", type=int)
    export.add_argument("--output", type=Path, help="file to write (default: standard output; .xlsx: XLSX)")
    export.add_argument("--format", choices=FORMATS, help="csv or xlsx (default: from --output, else csv)")
    export.add_argument("--lang", choices=LANGUAGES, help="column names and results (default: the plan's language)")
    export.set_defaults(handler=export_command)
    template = sub.add_parser("template", help="an empty passenger file to fill in (CSV or XLSX)")
    template.add_argument("--output", type=Path, help="file to write (default: standard output; .xlsx: XLSX)")
    template.add_argument("--format", choices=FORMATS, help="csv or xlsx (default: from --output, else csv)")
    template.add_argument("--lang", choices=LANGUAGES, help="column names (default: the plan's language)")
    template.set_defaults(handler=template_command)


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


def _plan(settings: Settings):
    return load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file))


def import_command(args: argparse.Namespace, settings: Settings) -> int:
    plan = _plan(settings)
    profile = profile_named(load_profiles(campaigns_file(settings), plan), args.kind)
    try:
        data = args.file.read_bytes()
    except OSError as e:
        raise InvalidInput(_("cannot read %(file)s: %(error)s", file=args.file, error=e)) from None
    try:
        result, kind = read_file(data, args.file.name, plan.country, plan.timezone, plan.languages,
                                 load_route_zones(campaigns_file(settings)))
    except InvalidInput as e:
        raise InvalidInput(f"{args.file}: {e.message}", e.details) from None
    for issue in result.issues:
        print(f"{args.file}:{issue}" + ("" if issue.level == "error" else f" ({issue.level})"), file=sys.stderr)
    now = Clock(settings.fixed_now()).now()
    # The registry's region gives each callee's time zone (local calling hours), as for the API.
    lookup = carrier_lookup(settings)

    async def work(store: CampaignStore):
        campaign = await store.create(args.name, profile.kind, profile.name, now, profile.dispatcher)
        return campaign, await add_passengers(store, campaign, profile, plan, result.passengers, now, lookup)

    campaign, added = _run(settings, work)
    print(_("campaign %(id)s '%(name)s' (%(profile)s) from %(kind)s: %(added)s passengers, %(merged)s merged, "
            "%(refused)s rows refused of %(read)s", id=campaign.id, name=campaign.name, profile=profile.name,
            kind=kind, added=added.added, merged=result.merged, refused=result.refused, read=result.rows_read))
    for line in added.fallback_lines(plan.timezone):
        print(f"  {line}")
    return 0


def change_command(args: argparse.Namespace, settings: Settings) -> int:
    now = Clock(settings.fixed_now()).now()
    campaign = _run(settings, lambda store: store.change(args.id, args.command_name, now))
    print(_("campaign %(id)s: %(status)s", id=campaign.id, status=term(campaign.status)))
    return 0


def show_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.follow:
        return watch_command(args, settings)

    async def work(store: CampaignStore):
        return await store.get(args.id), await store.counts(args.id), await store.attempts(args.id)

    campaign, counts, attempts = _run(settings, work)
    progress = Progress.of(campaign, counts)
    plan = _plan(settings)
    print(_("campaign %(id)s '%(name)s' (%(profile)s) %(status)s", id=campaign.id, name=campaign.name,
            profile=campaign.profile, status=term(campaign.status)))
    print(progress.bar(BAR))
    for name, n in sorted(counts["status"].items()):
        print(f"  {STATUS_LABELS[i18n.current()].get(name, name):18} {n}")
    for name, n in progress.results():
        print(f"  {label(name, i18n.current()):18} {n}")
    if args.rows:
        print_rows(_run(settings, lambda store: store.rows(args.id)), plan.timezone)
    if attempts:
        report = trunk_report(attempts, plan, carrier_lookup(settings))
        print("  {:12} {:>6} {:>8} {:>8} {:>8}".format(_("trunk"), _("calls"), _("answered"), _("minutes"), _("cost")))
        for row in report["trunks"]:
            print(f"  {row['trunk']:12} {row['calls']:>6} {row['answered']:>8} {row['minutes']:>8.2f} "
                  f"{row['cost']:>8.2f}")
        print("  " + _("cost %(cost)s, through %(trunk)s alone %(default)s, saving %(saving)s",
                       cost=f"{report['cost']:.2f}", trunk=report["default_trunk"],
                       default=f"{report['default_cost']:.2f}", saving=f"{report['saving']:.2f}"))
    return 0


def print_rows(rows, zone: str) -> None:
    """Every row: id, passenger, phone, trip, status, result, attempts and the next call (plan's zone)."""
    tz = ZoneInfo(zone)
    print("  {:>5} {:24} {:13} {:10} {:8} {:18} {:>5}  {}".format(
        _("row"), _("passenger"), _("phone"), _("trip"), _("status"), _("result"), _("tries"),
        _("next call (%(zone)s)", zone=zone)))
    for r in rows:
        p = r.passenger
        nxt = r.next_at.astimezone(tz).strftime("%d.%m %H:%M:%S") if r.next_at and r.status == "ready" else ""
        print(f"  {r.id:>5} {p.name[:24]:24} {p.phone:13} {p.trip_id[:10]:10} {term(r.status):8} "
              f"{label(r.result, i18n.current()) if r.result else '':18} {r.attempts:>5}  {nxt}")


def call_command(args: argparse.Namespace, settings: Settings) -> int:
    now = Clock(settings.fixed_now()).now()
    row = _run(settings, lambda store: store.call_again(args.id, args.row, now))
    print(_("campaign %(id)s row %(row)s %(name)s %(phone)s: called again now", id=args.id, row=row.id,
            name=row.passenger.name, phone=row.passenger.phone))
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
        plan = _plan(settings)
        try:
            target = normalize(args.row, plan.country)
        except IvrError:
            raise InvalidInput(_("'%(row)s' is neither a row id nor a phone number", row=args.row)) from None
    now = Clock(settings.fixed_now()).now()
    rows = _run(settings, lambda store: store.mark_done(args.id, target, args.answer, args.by, now))
    for row in rows:
        print(_("campaign %(id)s row %(row)s %(name)s %(phone)s: %(result)s by %(who)s", id=args.id, row=row.id,
                name=row.passenger.name, phone=row.passenger.phone, result=label(row.result, i18n.current()),
                who=args.by))
    return 0


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    return "xlsx" if args.output and args.output.suffix.lower() == ".xlsx" else "csv"


def _write(data: bytes, output: Path | None) -> None:
    if output:
        output.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


def export_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: CampaignStore):
        await store.get(args.id)
        return await store.rows(args.id), await store.attempts(args.id)

    rows, attempts = _run(settings, work)
    plan = _plan(settings)
    _write(export_file(rows, attempts, plan.timezone, args.lang or plan.language, _format(args),
                       f"campaign {args.id}"), args.output)
    return 0


def template_command(args: argparse.Namespace, settings: Settings) -> int:
    _write(template_file(args.lang or _plan(settings).language, _format(args)), args.output)
    return 0
