"""`ivr phones`: where to point a SIP softphone, and the extensions of the plan."""
from __future__ import annotations

import argparse

from ivr.config import Settings
from ivr.i18n import _
from ivr.plan.loader import load_plan


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("phones", help="how to connect a SIP softphone")
    parser.set_defaults(handler=phones_command)


def phones_command(args: argparse.Namespace, settings: Settings) -> int:
    plan = load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file))
    print("\n" + _("SIP server (registrar): %(address)s:%(port)s (UDP)", address=settings.sip_address,
                   port=settings.sip_port))
    for ext in sorted(plan.staff):
        s = plan.staff[ext]
        print("  " + _("extension %(ext)s %(name)s user %(ext)s  password %(password)s", ext=f"{ext:6}",
                       name=f"{s.name:20}", password=s.password))
    print(_("Company numbers: %(numbers)s", numbers=", ".join(plan.numbers)))
    print(_("Web console and API: %(url)s   status: %(url)s/status", url=settings.public_url))
    password = settings.var / "admin-password"
    print(_("Console login: admin / the password in %(file)s (written at the first start)", file=password))
    print(_("Stop with Ctrl-C here, or `make stop` from another terminal.") + "\n")
    return 0
