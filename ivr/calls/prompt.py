"""The one prompt primitive: play prompts, collect digits. Menus, PINs and campaign answers use it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class PromptOptions:
    prompts: tuple[str, ...]                 # prompt names (resolved in the call's language)
    max_digits: int = 1
    first_digit_timeout: float = 5.0         # after the prompts end
    inter_digit_timeout: float = 3.0
    terminator: str = "#"                    # ends a multi-digit entry early
    valid: frozenset[str] | None = None      # entries accepted; others give status "invalid"
    interruptible: bool = True               # a digit stops the prompts


@dataclass(frozen=True)
class PromptResult:
    status: Literal["ok", "timeout", "invalid"]
    digits: str = ""
