"""`ivr trunks`: each trunk's registration state, channels in use and last failure, from the PBX
Asterisk itself (and the service's record of failures in var/trunks.json)."""
from __future__ import annotations

import argparse
import json

from ivr.asterisk.render import pbx_instance
from ivr.config import Settings
from ivr.i18n import _
from ivr.plan.loader import load_plan
from ivr.routing.trunk_status import check, load_history, with_history
from ivr.terms import trunk


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("trunks", help="trunk registrations, channels in use, last failures")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_trunks)


def cmd_trunks(args: argparse.Namespace, settings: Settings) -> int:
    plan = load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file))
    states = with_history(check(pbx_instance(settings), plan), load_history(settings.var / "trunks.json"))
    if args.json:
        print(json.dumps([s.to_dict() for s in states], indent=1))
    else:
        print("{:16} {:9} {:14} {:>8}  {}".format(_("TRUNK"), _("KIND"), _("REGISTRATION"), _("CHANNELS"),
                                                  _("LAST FAILURE")))
        for s in states:
            failure = _("%(what)s at %(at)s", what=s.last_failure, at=s.last_failure_at) if s.last_failure else "-"
            print(f"{s.name:16} {trunk(s.kind):9} {trunk(s.registration):14} "
                  f"{s.channels:>8}  {failure}")
    return 0 if all(s.ok for s in states) else 1
