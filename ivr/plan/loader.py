"""Loading a routing plan: YAML text -> validated, frozen Plan, or PlanError listing every problem.

No input gives a traceback: unreadable files, YAML syntax errors and bad values all become
`Problem(file, line, col, message)`.
"""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ivr.plan.errors import PlanError, Problem
from ivr.plan.model import Plan
from ivr.plan.validate import PlanBuilder, PromptExists
from ivr.yaml_reader import YNode, compose, read_text

__all__ = ["PlanError", "Problem", "load_plan", "load_plan_text", "round_trip_yaml"]


def round_trip_yaml() -> YAML:
    """The YAML reader/writer for rewriting plan files: loading and dumping the sample plan with it
    gives back the same bytes, comments, quotes and layout included."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096              # never re-wrap an admin's long lines
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load_plan(path: str | Path, *, secrets_path: str | Path | None = None,
              prompt_exists: PromptExists | None = None, runnable: frozenset[str] | None = None) -> Plan:
    """Load and validate a plan file. `secrets_path` defaults to secrets.yaml beside the plan.
    `prompt_exists(name, language)`, when given, is asked about every prompt in every plan language."""
    path = Path(path)
    text = read_text(path, PlanError)
    if secrets_path is None:
        secrets_path = path.with_name("secrets.yaml")
    return load_plan_text(text, str(path), secrets_path=secrets_path, prompt_exists=prompt_exists,
                          runnable=runnable)


def load_plan_text(text: str, source_name: str, *, secrets_path: str | Path | None = None,
                   prompt_exists: PromptExists | None = None,
                   runnable: frozenset[str] | None = None) -> Plan:
    """Validate plan text (e.g. a version kept in the database); `source_name` names it in problems.
    Without `secrets_path` there are no passwords, which is a problem only if the plan has staff."""
    problems: list[Problem] = []
    root = compose(text, source_name, problems)
    if problems:
        raise PlanError(problems)
    secrets_root, secrets_source, missing = None, None, "no secrets file was given"
    if secrets_path is not None:
        secrets_source = str(secrets_path)
        if Path(secrets_path).exists():
            before = len(problems)
            secrets_root = compose(read_text(Path(secrets_path), PlanError), secrets_source, problems)
            missing = f"{secrets_source} has errors" if len(problems) > before else f"{secrets_source} is empty"
        else:
            missing = f"there is no secrets file {secrets_source}"
    builder = PlanBuilder(root, source_name, secrets_root=secrets_root, secrets_source=secrets_source,
                          secrets_missing=missing, prompt_exists=prompt_exists, runnable=runnable)
    try:
        plan = builder.build()
    except RecursionError:
        # Only absurd nesting of merge keys gets here.
        problems.append(Problem(source_name, 1, 1, "the plan is nested too deeply"))
        plan = None
    problems += builder.problems
    if problems or plan is None:
        raise PlanError(problems or [Problem(source_name, 1, 1, "the plan is not usable")])
    _check_round_trip(root, source_name)
    return dataclasses.replace(plan, source=source_name,
                               checksum=hashlib.sha256(text.encode("utf-8")).hexdigest())


def _check_round_trip(root: YNode, source: str) -> None:
    """The app rewrites plans with ruamel's round-trip loader, which converts what validation read as
    text (a date-like `2026-02-30` becomes an exception there); a plan it cannot load is refused.
    Constructed from the nodes already composed: parsing the text again cost as much as the rest."""
    try:
        round_trip_yaml().constructor.construct_document(root)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise PlanError([Problem(source, line, col, f"YAML: {e.problem or e}")]) from None
    except (YAMLError, ValueError, OverflowError) as e:
        raise PlanError([Problem(source, 1, 1, f"YAML cannot be read back: {e}; quote the value")]) from None
