"""Branch on the plan's schedule: open, closed or holiday, in the plan's time zone."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from ivr.flows.context import FlowContext
from ivr.plan.model import ScheduleNode
from ivr.plan.schedule import schedule_state


async def run(node: ScheduleNode, ctx: FlowContext) -> str | None:
    state = schedule_state(ctx.plan.schedules[node.schedule], ctx.now(), ZoneInfo(ctx.plan.timezone))
    ctx.journal.step("schedule", schedule=node.schedule, state=state)
    if state != "open":
        # What the call record reports unless a later node (voicemail, a person) says more.
        ctx.journal.outcome = "closed_hours" if state == "closed" else "holiday"
    return {"open": node.open, "closed": node.closed, "holiday": node.holiday}[state]
