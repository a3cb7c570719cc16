"""The `ivr` command. Each sub-command lives in its own module with a `register(subparsers)`
that sets `handler(args, settings) -> int` on its parser."""
from __future__ import annotations

import argparse
import importlib
import sys

# Sub-commands in the order `ivr --help` lists them: name -> (module under ivr/cli/, one-line help).
# Only the module of the command given is imported: `ivr --help` loads none of them.
COMMANDS = {
    "plan": ("plan", "check and change the routing plan"),
    "calls": ("calls", "list recent calls"),
    "asterisk": ("asterisk", "render config, start or stop the PBX Asterisk"),
    "phones": ("phones", "how to connect a SIP softphone"),
    "roster": ("roster", "on-duty rosters: who is on duty, changes for a day"),
    "users": ("users", "web console accounts"),
    "tokens": ("tokens", "API tokens (create, list, revoke)"),
    "audit": ("audit", "the audit log"),
    "sounds": ("sounds", "generate and import prompts"),
    "numbering": ("numbering", "numbering registry, ported numbers, carrier lookup"),
    "route": ("route", "explain the outbound trunk choice for a number"),
    "report": ("report", "reports on outbound trunks"),
    "campaign": ("campaigns", "outbound trip-confirmation campaigns"),
    "missed": ("missed", "the missed-call list: list, take, close, call back"),
    "contacts": ("contacts", "contacts: list, add, import/export CSV"),
    "queues": ("queues", "queue lines, agents and statistics"),
    "trunks": ("trunks", "trunk registrations, channels in use, last failures"),
    "backup": ("backup", "database, configuration, voicemail and recordings index to FILE"),
    "restore": ("backup", "fill a fresh install from a backup FILE"),
    "doctor": ("doctor", "check an installation and say what is wrong"),
    "cluster": ("cluster", "start, stop and show several nodes (Kamailio, Asterisk nodes, services)"),
}
ALIASES = {"campaigns": "campaign"}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: complete for its command (every command when `argv` is None),
    a one-line entry for the others."""
    parser = argparse.ArgumentParser(prog="ivr", description="Run and inspect the IVR/PBX.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None) if argv is not None else None
    wanted = ALIASES.get(wanted or "", wanted)
    wanted_module = COMMANDS[wanted][0] if wanted in COMMANDS else None
    registered = set()
    for name, (module, text) in COMMANDS.items():
        if argv is None or module == wanted_module:
            if module not in registered:        # one module may add several commands (backup, restore)
                importlib.import_module(f"ivr.cli.{module}").register(sub)
                registered.add(module)
        else:
            sub.add_parser(name, help=text)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    from ivr.config import load_settings
    from ivr.errors import IvrError
    try:
        return int(args.handler(args, load_settings()) or 0)
    except IvrError as e:
        print(f"ivr: {e.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
