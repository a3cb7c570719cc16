"""`ivr missed`: the missed-call list (table or JSON), take / release / close, call-back through the
running service, the time-to-call-back report and the notification outbox."""
from __future__ import annotations

import argparse
import asyncio
import json
import shutil
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from ivr import i18n
from ivr.clock import Clock, parse_aware
from ivr.security.local import local_headers, local_url
from ivr.config import Settings
from ivr.errors import IvrError, NotFound, ServiceUnavailable
from ivr.i18n import _
from ivr.missed.report import Report, build_report
from ivr.missed.service import MissedService
from ivr.missed.store import MissedItem
from ivr.plan.loader import load_plan
from ivr.plan.model import Plan
from ivr.store.db import open_database
from ivr.terms import term

T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("missed", help="the missed-call list: list, take, close, call back",
                                   description="Missed calls: one item per customer and company number, "
                                               "open until someone reached the customer.")
    _list_options(parser)
    parser.set_defaults(handler=list_command)
    actions = parser.add_subparsers(dest="missed_command", metavar="ACTION")
    show = actions.add_parser("show", help="one item with its history")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=show_command)
    for name, text in (("take", "take an item: you call the customer"), ("release", "give a taken item back")):
        p = actions.add_parser(name, help=text)
        p.add_argument("id", type=int)
        p.add_argument("--by", required=True, help="who (staff extension or user name)")
        p.add_argument("--json", action="store_true")
        p.set_defaults(handler=staff_command, action=name)
    close = actions.add_parser("close", help="close an item by hand")
    close.add_argument("id", type=int)
    close.add_argument("--by", required=True)
    close.add_argument("--reason", default="done", help="why (default: done)")
    close.add_argument("--json", action="store_true")
    close.set_defaults(handler=staff_command, action="close")
    callback = actions.add_parser("callback", help="ring a staff phone, then the customer (needs the service)")
    callback.add_argument("id", type=int)
    callback.add_argument("--staff", required=True, help="staff extension whose phone rings first")
    callback.set_defaults(handler=callback_command)
    report = actions.add_parser("report", help="time to call back: median, p90, share within 15 min")
    report.add_argument("--since", help="ISO 8601 with offset (default: 7 days before --until)")
    report.add_argument("--until", help="ISO 8601 with offset (default: now)")
    report.add_argument("--short", action="store_true", help="count short calls too")
    report.add_argument("--json", action="store_true")
    report.set_defaults(handler=report_command)
    outbox = actions.add_parser("outbox", help="notifications queued and sent")
    outbox.add_argument("--pending", action="store_true", help="only those not delivered yet")
    outbox.add_argument("--json", action="store_true")
    outbox.set_defaults(handler=outbox_command)
    voicemail = actions.add_parser("voicemail", help="save an item's voicemail (WAV)")
    voicemail.add_argument("id", type=int)
    voicemail.add_argument("--output", "-o", help="file to write (default: print its path)")
    voicemail.set_defaults(handler=voicemail_command)


def _list_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", default="pending", choices=["pending", "open", "taken", "closed", "all"],
                        help="which items (default: pending = open or taken)")
    parser.add_argument("--number", help="only this company number")
    parser.add_argument("--customer", help="only this customer number")
    parser.add_argument("--no-short", action="store_true", help="hide short calls (misdials)")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="print JSON")


def _plan(settings: Settings) -> Plan | None:
    try:
        return load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file))
    except IvrError:
        return None           # times then show in UTC; nothing else here needs the plan


def _run(settings: Settings, work: Callable[[MissedService], Awaitable[T]]) -> T:
    async def run() -> T:
        db = await open_database(settings.database_url, settings)
        try:
            plan = _plan(settings)
            return await work(MissedService(settings, db, Clock(settings.fixed_now()).now, lambda: plan))
        finally:
            await db.close()
    return asyncio.run(run())


def _print_items(items: list[MissedItem]) -> None:
    print("{:>5}  {:9} {:14}  {:14}  {:>3}  {:16}  {:30} {:10} {}".format(
        _("id"), _("status"), _("customer"), _("number"), _("n"), _("last"), _("reason"), _("who"), _("name")))
    for i in items:
        who = i.taken_by if i.status == "taken" else (i.closed_by if i.status == "closed" else "")
        reason = term(i.reason) + (" " + _("short") if i.short else "")
        print(f"{i.id:>5}  {term(i.status):9} {i.customer:14}  {i.company_number:14}  {i.count:>3}  "
              f"{i.last_at.astimezone():%Y-%m-%d %H:%M}  {reason:30} {who:10} {i.contact_name}")


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    status = None if args.status == "all" else args.status
    items = _run(settings, lambda m: m.store.list(status=status, company_number=args.number,
                                                  customer=args.customer, include_short=not args.no_short,
                                                  limit=args.limit))
    if args.json:
        print(json.dumps([i.to_dict() for i in items], ensure_ascii=False, indent=2))
    else:
        _print_items(items)
    return 0


def _print_item(item: MissedItem, as_json: bool) -> None:
    if as_json:
        print(json.dumps(item.to_dict(), ensure_ascii=False, indent=2))
        return
    _print_items([item])
    if item.status == "closed":
        print("       " + _("closed %(at)s by %(who)s: %(why)s (after %(seconds)s s)",
                            at=f"{item.closed_at.astimezone():%Y-%m-%d %H:%M:%S}", who=item.closed_by or "-",
                            why=term(item.close_reason), seconds=f"{item.callback_seconds:.0f}"))
    if item.voicemail:
        print("       " + _("voicemail: %(path)s", path=item.voicemail))
    for e in item.events:
        data = " ".join(f"{k}={v}" for k, v in e.data.items())
        call = f" call={e.call_id}" if e.call_id else ""
        print(f"       {e.at.astimezone():%Y-%m-%d %H:%M:%S}  {e.kind:16} {e.by or '-':10}{call} {data}")


def show_command(args: argparse.Namespace, settings: Settings) -> int:
    _print_item(_run(settings, lambda m: m.store.get(args.id)), args.json)
    return 0


def staff_command(args: argparse.Namespace, settings: Settings) -> int:
    actions: dict[str, Callable[[MissedService], Awaitable[MissedItem]]] = {
        "take": lambda m: m.take(args.id, args.by),
        "release": lambda m: m.release(args.id, args.by),
        "close": lambda m: m.close(args.id, args.by, getattr(args, "reason", "done")),
    }
    _print_item(_run(settings, actions[args.action]), args.json)
    return 0


async def post_to_service(settings: Settings, path: str, body: dict[str, Any]) -> dict[str, Any]:
    url = local_url(settings) + path
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15),
                                         headers=local_headers(settings)) as http:
            async with http.post(url, json=body) as response:
                data = await response.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, json.JSONDecodeError):
        raise ServiceUnavailable(_("the service does not answer at %(url)s; is it running?",
                                   url=local_url(settings))) from None
    if response.status >= 300:
        error = IvrError(data.get("message", f"HTTP {response.status}") if isinstance(data, dict) else str(data))
        error.status_code = response.status
        raise error
    return data


def callback_command(args: argparse.Namespace, settings: Settings) -> int:
    started = asyncio.run(post_to_service(settings, f"/api/missed/{args.id}/callback", {"staff": args.staff}))
    print(_("calling back: phone %(staff)s rings first, then the customer (call record %(call)s); "
            "the result lands on item %(item)s", staff=started["staff"], call=started["call_id"],
            item=started["item"]))
    return 0


def _print_report(report: Report) -> None:
    def row(s) -> str:
        med = "-" if s.median_seconds is None else _("%(n)s min", n=i18n.number(s.median_seconds / 60, 1))
        p90 = "-" if s.p90_seconds is None else _("%(n)s min", n=i18n.number(s.p90_seconds / 60, 1))
        return f"{term(s.group):14} {s.items:>6} {s.closed:>7} {med:>10} {p90:>10} {i18n.percent(s.within_15min):>9}"
    print(f"{report.since:%Y-%m-%d %H:%M} .. {report.until:%Y-%m-%d %H:%M}")
    print("{:14} {:>6} {:>7} {:>10} {:>10} {:>9}".format("", _("items"), _("closed"), _("median"), "p90",
                                                         _("<=15 min")))
    print(row(report.total))
    for title, groups in ((_("per day"), report.by_day), (_("per company number"), report.by_number)):
        print(title)
        for s in groups:
            print(row(s))


def report_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work(m: MissedService) -> Report:
        until = parse_aware(args.until, "--until") if args.until else m.now()
        since = parse_aware(args.since, "--since") if args.since else until - timedelta(days=7)
        return build_report(await m.store.between(since, until), since, until, m.timezone(),
                            include_short=args.short)
    report = _run(settings, work)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report)
    return 0


def outbox_command(args: argparse.Namespace, settings: Settings) -> int:
    messages = _run(settings, lambda m: m.outbox.list(pending=args.pending))
    if args.json:
        print(json.dumps([m.to_dict() for m in messages], ensure_ascii=False, indent=2))
        return 0
    print("{:>5}  {:7}  {:9}  {:>5}  {:30}  {}".format(_("id"), _("channel"), _("state"), _("tries"), _("target"),
                                                       _("last error")))
    for m in messages:
        state = _("sent") if m.sent_at else _("pending")
        print(f"{m.id:>5}  {m.channel:7}  {state:9}  {m.attempts:>5}  {m.target[:30]:30}  {m.last_error[:60]}")
    return 0


def voicemail_command(args: argparse.Namespace, settings: Settings) -> int:
    item = _run(settings, lambda m: m.store.get(args.id))
    if not item.voicemail or not Path(item.voicemail).exists():
        raise NotFound(_("missed call %(id)s has no voicemail", id=item.id))
    if args.output:
        shutil.copyfile(item.voicemail, args.output)
        print(_("wrote %(file)s", file=args.output))
    else:
        print(item.voicemail)
    return 0
