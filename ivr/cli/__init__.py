"""The `ivr` command. Each sub-command lives in its own module with a `register(subparsers)`
that sets `handler(args, settings) -> int` on its parser."""
from __future__ import annotations

import argparse
import importlib
import sys

from ivr.config import load_settings
from ivr.errors import IvrError

# Modules under ivr/cli/ that add sub-commands, in the order `ivr --help` lists them.
COMMAND_MODULES = ["plan", "calls", "asterisk", "phones", "users", "sounds", "numbering", "route",
                   "report", "campaigns", "missed", "contacts", "queues", "cluster"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ivr", description="Run and inspect the IVR/PBX.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"ivr.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args, load_settings()) or 0)
    except IvrError as e:
        print(f"ivr: {e.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
