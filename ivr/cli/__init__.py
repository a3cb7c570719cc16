"""The `ivr` command. Each sub-command lives in its own module with a `register(subparsers)`
that sets `handler(args, settings) -> int` on its parser."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

# Sub-commands in the order `ivr --help` lists them: name -> (module under ivr/cli/, one-line help).
# Only the module of the command given is imported: `ivr --help` loads none of them.
COMMANDS = {
    "plan": ("plan", "check and change the routing plan"),
    "calls": ("calls", "list recent calls"),
    "asterisk": ("asterisk", "render config, start or stop the PBX Asterisk"),
    "phones": ("phones", "how to connect a SIP softphone"),
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
    parser.add_argument("--lang", dest="output_lang", choices=["ru", "en"],
                        help="language of the output (default: LANGUAGE, LC_ALL, LANG, else the plan's language)")
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


def take_lang_option(argv: list[str]) -> tuple[str | None, list[str]]:
    """`--lang XX` (or `--lang=XX`) among the arguments, and the others."""
    rest: list[str] = []
    given = None
    items = iter(argv)
    for item in items:
        if item == "--lang":
            given = next(items, "")
        elif item.startswith("--lang="):
            given = item.split("=", 1)[1]
        else:
            rest.append(item)
    return given, rest


def _has_own_lang(parser: argparse.ArgumentParser, argv: list[str]) -> bool:
    """Whether the (sub-)command named in `argv` has a --lang option of its own."""
    current = parser
    for word in (a for a in argv if not a.startswith("-")):
        sub = next((a for a in current._actions if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None or word not in sub.choices:
            break
        current = sub.choices[word]
    return current is not parser and "--lang" in current._option_string_actions


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    given, rest = take_lang_option(argv)
    parser = build_parser(rest)
    # `ivr --lang ru missed` or `ivr missed --lang ru`; a command with a --lang of its own keeps it.
    if _has_own_lang(parser, rest):
        given, rest = None, argv
    args = parser.parse_args(rest)
    from ivr import i18n
    from ivr.cli.language import choose
    from ivr.config import load_settings
    from ivr.errors import IvrError
    from ivr.plan.errors import PlanError
    from ivr.plan.problem_text import said
    settings = load_settings()
    i18n.use(choose(given or args.output_lang, os.environ, settings))
    try:
        return int(args.handler(args, settings) or 0)
    except PlanError as e:              # a command that needs the plan: each problem at its place
        for problem in e.problems:
            print(f"ivr: {said(problem)}", file=sys.stderr)
        return 1
    except IvrError as e:
        print(f"ivr: {e.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
