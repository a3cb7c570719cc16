"""`ivr route NUMBER`: explain which trunks an outbound call to NUMBER would try, and why.

When the service runs, it answers (GET /api/route), so free capacity is live; otherwise the
decision is made here from the plan's trunks (or --trunks FILE) with every trunk idle.
"""
from __future__ import annotations

import argparse
import json
import re
import socket
from pathlib import Path

from ivr.config import Settings
from ivr.errors import IvrError
from ivr.i18n import _

ASK_TIMEOUT = 3.0
_COUNTRY = re.compile(r"""^country:[ \t]*["']?([A-Za-z]{2})["']?[ \t]*(?:#.*)?$""", re.M)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("route", help="explain the outbound trunk choice for a number",
                              description="Explain the outbound trunk choice for a number: carrier and "
                                          "its source, candidates with cost and free capacity, the trunk.")
    p.add_argument("number")
    p.add_argument("--json", action="store_true")
    p.add_argument("--trunks", type=Path, default=None,
                   help="a trunks file (config/trunks.yaml layout) instead of the plan's trunks; "
                        "decided here with idle trunks")
    p.add_argument("--country", default=None, help="home country for national formats (default: the plan's)")
    p.set_defaults(handler=cmd_route)


def ask_service(settings: Settings, number: str) -> dict | None:
    """The running service's decision (live counts), or None when no service answers."""
    from ivr.security.local import local_address, local_headers, local_url
    try:                        # nothing listening: no need to load urllib's HTTP stack to learn it
        socket.create_connection(local_address(settings), timeout=ASK_TIMEOUT).close()
    except OSError:
        return None
    import urllib.error
    import urllib.parse
    import urllib.request
    url = f"{local_url(settings)}/api/route?{urllib.parse.urlencode({'number': number})}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=local_headers(settings)),
                                    timeout=ASK_TIMEOUT) as reply:
            return json.load(reply)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
        except ValueError:
            return None
        if e.code == 404 or "message" not in body:
            return None                  # an older service without the route API
        raise IvrError(body["message"]) from None
    except (OSError, ValueError):
        return None


def decide_here(args: argparse.Namespace, settings: Settings, number: str, country: str) -> dict:
    """The decision made here with every trunk idle (no service answered, or --trunks)."""
    # Imported here: a running service answers without the numbering store or the plan being read.
    from ivr.cli.numbering import info_dict, open_lookup
    from ivr.routing.choose import candidate_dict, choose_trunks
    from ivr.routing.numbers import classify
    from ivr.routing.plan_trunks import plan_trunks
    from ivr.routing.trunkfile import load_trunks

    if args.trunks is not None:
        trunks = load_trunks(args.trunks)
    else:
        plan_country, trunks = plan_trunks(settings)
        country = args.country or plan_country
    info = open_lookup(settings).lookup(number)
    candidates = choose_trunks(info, classify(number, country), trunks, live_channels={})
    return info_dict(info) | {
        "candidates": [candidate_dict(c, info.number) for c in candidates],
        "trunk": candidates[0].trunk.name if candidates else None,
    }


def plan_country(settings: Settings) -> str:
    """The plan's country from its top-level `country:` line, without parsing the plan (a full
    parse takes a third of a second); "RU" when there is none."""
    try:
        text = settings.path(settings.plan_file).read_text(encoding="utf-8")
    except OSError:
        return "RU"
    found = _COUNTRY.search(text)
    return found.group(1).upper() if found else "RU"


def cmd_route(args: argparse.Namespace, settings: Settings) -> int:
    from ivr.routing.numbers import classify, normalize
    country = args.country or plan_country(settings)
    number = normalize(args.number, country)     # refuses anything that is not a number, here
    result = (ask_service(settings, number) if args.trunks is None else None) \
        or decide_here(args, settings, number, country)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    for key in ("number", "carrier", "carrier_source", "operator", "region", "timezone"):
        value = result[key]
        print(f"{key:15} {'' if value is None else value}")
    print(f"{'class':15} {classify(result['number'], country)}")
    print(_("candidates:"))
    for c in result["candidates"]:
        free = _("no limit") if c["free"] is None else _("%(n)s free", n=c["free"])
        onnet = "  " + _("on-net") if c["onnet"] else ""
        per_minute = _("%(cost)s/min", cost=f"{c['cost']:8.2f}")
        print(f"  {c['trunk']:20} {per_minute}  {free}{onnet}")
    if not result["candidates"]:
        print("  " + _("(none: no trunk may carry this call or all are full)"))
    print(f"{'trunk':15} {result['trunk'] or '-'}")
    return 0
