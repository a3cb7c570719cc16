"""`ivr plan ...`: work with the routing plan. `check` validates a file without touching the
running system."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr.config import Settings
from ivr.errors import IvrError
from ivr.flows import RUNNABLE
from ivr.i18n import _, ngettext
from ivr.plan.loader import PlanError, load_plan
from ivr.plan.model import Plan
from ivr.plan.problem_text import said
from ivr.security.audit import record_from_cli
from ivr.plan.schedule import parse_local_datetime
from ivr.plan.trace import trace
from ivr.routing.numbers import normalize
from ivr.sounds.generate import prompt_texts
from ivr.sounds.catalog import PromptCatalog
from ivr.store.db import open_database
from ivr.store.plans import PlanStore


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("plan", help="check and change the routing plan",
                                   description="Check and change the routing plan (config/plan.yaml).")
    actions = parser.add_subparsers(dest="plan_command", required=True, metavar="ACTION")

    check = actions.add_parser(
        "check", help="validate a plan file without changing anything",
        description="Validate a plan file. Prints a summary and exits 0, or prints each problem as "
                    "FILE:LINE:COL: message and exits 1.")
    check.add_argument("file", nargs="?", help="plan file (default: the plan_file setting)")
    check.add_argument("--secrets", metavar="FILE",
                       help="secrets file with the staff passwords (default: the secrets_file setting)")
    check.add_argument("--skip-prompts", action="store_true",
                       help="do not check that the prompts exist (e.g. before they are generated)")
    check.set_defaults(handler=check_command)
    attempt = actions.add_parser(
        "try", help="print the path a call would take through a plan",
        description="Print the path a call to NUMBER would take through FILE at a given moment: the nodes, "
                    "the text of each prompt heard, who rings for how long, and where it ends.")
    attempt.add_argument("file", nargs="?", help="plan file (default: the plan_file setting)")
    attempt.add_argument("--at", required=True, help='local time of the plan, e.g. "2026-12-07 13:10"')
    attempt.add_argument("--to", required=True, help="the company number called")
    attempt.add_argument("--from", dest="caller", default="", help="the caller's number")
    attempt.add_argument("--digits", default="", help="keys the caller presses in the menus, in order")
    attempt.set_defaults(handler=try_command)
    register_changes(actions)


def check_command(args: argparse.Namespace, settings: Settings) -> int:
    path = args.file or str(settings.path(settings.plan_file))
    secrets = args.secrets or str(settings.path(settings.secrets_file))
    prompt_exists = None if args.skip_prompts else PromptCatalog(settings).exists
    try:
        plan = load_plan(path, secrets_path=secrets, prompt_exists=prompt_exists, runnable=RUNNABLE)
    except PlanError as e:
        print_problems(e)
        return 1
    print(_("%(path)s: OK, %(summary)s", path=path, summary=summary(plan)))
    return 0


def try_command(args: argparse.Namespace, settings: Settings) -> int:
    path = args.file or str(settings.path(settings.plan_file))
    try:
        plan = load_plan(path, secrets_path=settings.path(settings.secrets_file), runnable=RUNNABLE)
        at = parse_local_datetime(args.at, ZoneInfo(plan.timezone))
        to = normalize(args.to, plan.country)
    except PlanError as e:
        print_problems(e)
        return 1
    except IvrError as e:
        print(f"--at / --to: {e.message}", file=sys.stderr)
        return 2
    texts = prompt_texts(settings)
    for step in trace(plan, to, at, args.digits, args.caller, lambda lang, name: texts.get(f"{lang}/{name}")):
        print(step)
    return 0


def print_problems(error: PlanError) -> None:
    for problem in error.problems:
        print(said(problem), file=sys.stderr)


def summary(plan: Plan) -> str:
    return ", ".join([
        ngettext("%(num)s number", "%(num)s numbers", len(plan.numbers)),
        ngettext("%(num)s node", "%(num)s nodes", len(plan.nodes)),
        ngettext("%(num)s schedule", "%(num)s schedules", len(plan.schedules)),
        _("%(n)s staff", n=len(plan.staff)), _("languages %(codes)s", codes=", ".join(plan.languages)),
    ])


def register_changes(actions: argparse._SubParsersAction) -> None:
    apply = actions.add_parser(
        "apply", help="validate a plan, store it as a new version and make it live",
        description="Validate FILE; if it is valid, store it as a new version and tell the running "
                    "service to use it for new calls (calls in progress finish on their version). "
                    "An invalid plan is refused and the running one stays.")
    apply.add_argument("file", nargs="?", help="plan file (default: the plan_file setting)")
    apply.add_argument("--by", default=getpass.getuser(), help="who applies it (kept with the version)")
    apply.set_defaults(handler=apply_command)
    rollback = actions.add_parser("rollback", help="make the previous version live again")
    rollback.set_defaults(handler=rollback_command)
    versions = actions.add_parser("versions", help="list stored versions")
    versions.set_defaults(handler=versions_command)


def apply_command(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file or settings.path(settings.plan_file))
    try:
        plan = load_plan(path, secrets_path=settings.path(settings.secrets_file),
                         prompt_exists=PromptCatalog(settings).exists, runnable=RUNNABLE)
    except PlanError as e:
        print_problems(e)
        print(_("%(path)s: refused; the running plan is unchanged", path=path), file=sys.stderr)
        return 1

    text = path.read_text(encoding="utf-8")
    version = _with_plans(settings, lambda plans: plans.save(text, str(path), plan.checksum, args.by))
    print(_("%(path)s: OK, %(summary)s; stored as version %(version)s", path=path, summary=summary(plan),
            version=version))
    record_from_cli(settings, "plan.apply", f"version {version} ({path.name}) by {args.by}")
    _tell_service(settings)
    return 0


def rollback_command(args: argparse.Namespace, settings: Settings) -> int:
    version = _with_plans(settings, lambda plans: plans.rollback())
    print(_("version %(version)s (%(file)s) is active again", version=version.version, file=version.source_file))
    record_from_cli(settings, "plan.rollback", f"version {version.version}")
    _tell_service(settings)
    return 0


def versions_command(args: argparse.Namespace, settings: Settings) -> int:
    for v in _with_plans(settings, lambda plans: plans.list()):
        mark = "*" if v.active else " "
        print(f"{mark} {v.version:4d}  {v.created_at:%Y-%m-%d %H:%M}  {v.applied_by:12s} {v.source_file}")
    return 0


def _with_plans(settings: Settings, action):
    """Run one PlanStore call on a database opened (and migrated) for this command."""
    async def run():
        db = await open_database(settings.database_url, settings)
        try:
            return await action(PlanStore(db))
        finally:
            await db.close()

    return asyncio.run(run())


def _tell_service(settings: Settings) -> None:
    """The service reloads on SIGHUP; it re-validates the stored version and keeps the old on error."""
    pidfile = settings.var / "ivr.pid"
    try:
        os.kill(int(pidfile.read_text().strip()), signal.SIGHUP)
    except (OSError, ValueError):
        print(_("the service is not running: it will use this version when it starts"))
        return
    print(_("the running service was told to reload"))
