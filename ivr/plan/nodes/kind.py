"""What the plan layer knows of one node kind: its keys, how it is read, whether it can loop
silently, how `ivr plan try` tells it, and the call outcome when a caller hangs up there.
Its executor lives in `ivr/flows/` (the plan layer never imports flows)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivr.plan.model import Node
    from ivr.plan.trace import Walk
    from ivr.plan.validate import NodeInfo, PlanBuilder
    from ivr.yaml_reader import Fields


@dataclass(frozen=True)
class NodeKind:
    name: str                                   # `type:` in the plan
    keys: tuple[str, ...]                       # the keys its mapping may have besides `type`
    build: Callable[[PlanBuilder, NodeInfo, Fields], Node]   # problems go to the builder's reader
    trace: Callable[[Any, Walk], str | None]    # tell the step in `ivr plan try`; the next node id
    quiet: bool = False                         # neither waits for the caller nor rings anyone
    abandoned: str = "abandoned"                # the call's outcome when the caller hangs up here
