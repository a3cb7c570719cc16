"""Problems found in a plan, each pointing to FILE:LINE:COL, and the error that carries them all."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ivr.errors import ConfigError


@dataclass(frozen=True)
class Problem:
    file: str
    line: int          # 1-based
    col: int           # 1-based
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class PlanError(ConfigError):
    """A plan, or another file read like one (campaigns.yaml, notifications.yaml), that cannot be used;
    `problems` lists every problem found, not just the first."""

    error_id = "invalid-plan"

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__(
            "\n".join(str(p) for p in self.problems),
            details={"problems": [
                {"file": p.file, "line": p.line, "col": p.col, "message": p.message}
                for p in self.problems
            ]},
        )
