"""`ivr route NUMBER`: explain which trunks an outbound call to NUMBER would try, and why.

Trunks come from the `trunks:` section of --trunks FILE; live channel counts are all 0 here.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ivr.cli.numbering import info_dict, open_lookup
from ivr.config import Settings
from ivr.routing.choose import choose_trunks
from ivr.routing.numbers import classify, normalize
from ivr.routing.trunkfile import load_trunks

TRUNKS_FILE = "config/trunks.yaml"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("route", help="explain the outbound trunk choice for a number")
    p.add_argument("number")
    p.add_argument("--json", action="store_true")
    p.add_argument("--trunks", type=Path, default=None, help=f"trunks file (default {TRUNKS_FILE})")
    p.add_argument("--country", default="RU", help="home country for national formats (default RU)")
    p.set_defaults(handler=cmd_route)


def cmd_route(args: argparse.Namespace, settings: Settings) -> int:
    number = normalize(args.number, args.country)
    trunks = load_trunks(args.trunks or settings.path(TRUNKS_FILE))
    info = open_lookup(settings).lookup(number)
    dest_class = classify(number, args.country)
    candidates = choose_trunks(info, dest_class, trunks, live_channels={})
    result = info_dict(info) | {
        "candidates": [{"trunk": c.trunk.name, "cost": c.cost, "free": c.free, "onnet": c.onnet}
                       for c in candidates],
        "trunk": candidates[0].trunk.name if candidates else None,
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    for key in ("number", "carrier", "carrier_source", "operator", "region", "timezone"):
        value = result[key]
        print(f"{key:15} {'' if value is None else value}")
    print(f"{'class':15} {dest_class}")
    print("candidates:")
    for c in candidates:
        free = "no limit" if c.free is None else f"{c.free} free"
        print(f"  {c.trunk.name:20} {c.cost:8.2f}/min  {free}{'  on-net' if c.onnet else ''}")
    if not candidates:
        print("  (none: no trunk may carry this call or all are full)")
    print(f"{'trunk':15} {result['trunk'] or '-'}")
    return 0
