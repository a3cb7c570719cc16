"""`ivr phones`: where to point a SIP softphone, and the extensions of the plan."""
from __future__ import annotations

import argparse

from ivr.config import Settings
from ivr.plan.loader import load_plan


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("phones", help="how to connect a SIP softphone")
    parser.set_defaults(handler=phones_command)


def phones_command(args: argparse.Namespace, settings: Settings) -> int:
    plan = load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file))
    print(f"\nSIP server (registrar): {settings.sip_address}:{settings.sip_port} (UDP)")
    for ext in sorted(plan.staff):
        s = plan.staff[ext]
        print(f"  extension {ext:6} {s.name:20} user {ext}  password {s.password}")
    print(f"Company numbers: {', '.join(plan.numbers)}")
    print(f"Web console and API: {settings.public_url}   status: {settings.public_url}/status")
    password = settings.var / "admin-password"
    print(f"Console login: admin / the password in {password} (written at the first start)")
    print("Stop with Ctrl-C here, or `make stop` from another terminal.\n")
    return 0
