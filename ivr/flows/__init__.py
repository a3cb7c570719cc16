"""One executor per plan node kind: `async def run(node, ctx) -> next node id | None`."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ivr.flows import basic, callback, hunt, menu, queue, schedule, voicemail
from ivr.flows.context import FlowContext

Executor = Callable[[Any, FlowContext], Awaitable[str | None]]

EXECUTORS: dict[str, Executor] = {
    "play": basic.play,
    "goto": basic.goto,
    "language": basic.language,
    "hangup": basic.hangup,
    "menu": menu.run,
    "schedule": schedule.run,
    "hunt": hunt.run,
    "forward": hunt.forward,
    "voicemail": voicemail.run,
    "callback": callback.run,
    "queue": queue.run,
}

# Node kinds this service can run; a plan using another kind is refused when it is checked or applied.
RUNNABLE = frozenset(EXECUTORS)
