"""`ivr doctor`: check an installation (ivr/doctor.py) and print what is wrong in plain words."""
from __future__ import annotations

import argparse

from ivr.config import Settings
from ivr.doctor import diagnose


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("doctor", help="check ports, addresses, NAT, trunks, phones, database, mail, "
                                             "disk and clock")
    p.set_defaults(handler=cmd_doctor)


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    return diagnose(settings)
