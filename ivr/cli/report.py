"""`ivr report trunks --since ...`: calls and minutes per trunk and carrier from Asterisk's call
detail records, and the estimated saving against the default trunk (prices from the plan file)."""
from __future__ import annotations

import argparse
import json

from ivr import i18n
from ivr.asterisk.render import pbx_instance
from ivr.cli.numbering import open_lookup
from ivr.clock import parse_aware
from ivr.config import Settings
from ivr.i18n import _
from ivr.plan.loader import load_plan
from ivr.routing.report import cdr_path, trunk_report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="reports on outbound trunks")
    sub = parser.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    p = sub.add_parser("trunks", help="minutes and calls per trunk and carrier, and the saving",
                       description="Outbound attempts per trunk and per carrier, minutes, cost, and the "
                                   "estimated saving against sending every call through the default trunk.")
    p.add_argument("--since", help="only calls from this time on (ISO, e.g. 2026-11-01T00:00+03:00)")
    p.add_argument("--until", help="only calls started before this time (ISO)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_trunks)


def cmd_trunks(args: argparse.Namespace, settings: Settings) -> int:
    since = parse_aware(args.since, "since") if args.since else None
    until = parse_aware(args.until, "until") if args.until else None
    plan = load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file))
    report = trunk_report(cdr_path(pbx_instance(settings)), plan, open_lookup(settings), since, until)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    for title, key in ((_("trunk"), "trunk"), (_("carrier"), "carrier")):
        print("{:16} {:>6} {:>8} {:>9} {:>9} {:>9}".format(title, _("calls"), _("answered"), _("minutes"), _("cost"),
                                                           _("saving")))
        for row in report[key + "s"]:
            print(f"{row[key]:16} {row['calls']:6} {row['answered']:8} {i18n.number(row['minutes'], 1):>9} "
                  f"{i18n.number(row['cost'], 2):>9} {i18n.number(row['saving'], 2):>9}")
        print()
    print(_("cost %(cost)s; through '%(trunk)s' alone %(default)s; saving %(saving)s",
            cost=i18n.number(report["cost"], 2), trunk=report["default_trunk"],
            default=i18n.number(report["default_cost"], 2), saving=i18n.number(report["saving"], 2)))
    return 0
