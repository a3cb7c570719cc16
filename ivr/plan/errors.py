"""The error of a plan that cannot be used: every problem found, each at FILE:LINE:COL."""
from __future__ import annotations

from ivr.yaml_reader import Problem, ProblemsError

__all__ = ["PlanError", "Problem"]


class PlanError(ProblemsError):
    """A plan, or a file read with it (campaigns.yaml), that cannot be used; `problems` lists every
    problem found, not just the first."""

    error_id = "invalid-plan"
