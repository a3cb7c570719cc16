"""`ivr report trunks --since ...`: calls and minutes per trunk and carrier from Asterisk's call
detail records, and the estimated saving against the default trunk (prices from the plan file)."""
from __future__ import annotations

import argparse
import json

from ivr.asterisk.render import pbx_instance
from ivr.cli.numbering import open_lookup
from ivr.clock import parse_aware
from ivr.config import Settings
from ivr.plan.loader import load_plan
from ivr.routing.report import cdr_path, trunk_report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="reports on outbound trunks")
    sub = parser.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    p = sub.add_parser("trunks", help="minutes and calls per trunk and carrier, and the saving",
                       description="Outbound attempts per trunk and per carrier, minutes, cost, and the "
                                   "estimated saving against sending every call through the default trunk.")
    p.add_argument("--since", help="only calls from this time on (ISO, e.g. 2026-11-01T00:00+03:00)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_trunks)


def cmd_trunks(args: argparse.Namespace, settings: Settings) -> int:
    since = parse_aware(args.since, "since") if args.since else None
    plan = load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file))
    report = trunk_report(cdr_path(pbx_instance(settings)), plan, open_lookup(settings), since)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    for title, key in (("trunk", "trunks"), ("carrier", "carriers")):
        print(f"{title:16} {'calls':>6} {'answered':>8} {'minutes':>9} {'cost':>9}")
        for row in report[key]:
            print(f"{row[title]:16} {row['calls']:6} {row['answered']:8} {row['minutes']:9.1f} {row['cost']:9.2f}")
        print()
    print(f"cost {report['cost']:.2f}; through '{report['default_trunk']}' alone {report['default_cost']:.2f}; "
          f"saving {report['saving']:.2f}")
    return 0
