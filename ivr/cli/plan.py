"""`ivr plan ...`: work with the routing plan. `check` validates a file without touching the
running system."""
from __future__ import annotations

import argparse
import sys

from ivr.config import Settings
from ivr.plan.loader import PlanError, load_plan
from ivr.plan.model import Plan
from ivr.sounds.catalog import PromptCatalog


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


def check_command(args: argparse.Namespace, settings: Settings) -> int:
    path = args.file or str(settings.path(settings.plan_file))
    secrets = args.secrets or str(settings.path(settings.secrets_file))
    prompt_exists = None if args.skip_prompts else PromptCatalog(settings).exists
    try:
        plan = load_plan(path, secrets_path=secrets, prompt_exists=prompt_exists)
    except PlanError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        return 1
    print(f"{path}: OK, {summary(plan)}")
    return 0


def summary(plan: Plan) -> str:
    def count(n: int, word: str) -> str:
        return f"{n} {word}" if n == 1 else f"{n} {word}s"

    return ", ".join([
        count(len(plan.numbers), "number"), count(len(plan.nodes), "node"),
        count(len(plan.schedules), "schedule"), f"{len(plan.staff)} staff",
        f"languages {', '.join(plan.languages)}",
    ])
