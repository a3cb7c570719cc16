"""Hunt members and forward targets that name a roster ("roster:managers") become whoever is on
duty at the moment the call reaches the node: their phone, or their mobile when the roster says
`ring: mobile`. A roster naming nobody that day leaves the member out (a `skipped` step)."""
from __future__ import annotations

from dataclasses import replace

from ivr.errors import IvrError
from ivr.flows.context import FlowContext
from ivr.plan.model import HuntMember, HuntNode
from ivr.plan.roster import roster_name


async def _resolve(target: str, ctx: FlowContext) -> str:
    name = roster_name(target)
    if not name:
        return target
    try:
        duty = await ctx.services.rosters.on_duty(name, ctx.now())
    except IvrError as e:                      # the database is away: the member is left out, the call goes on
        ctx.journal.step("skipped", member=target, reason="roster unavailable", error=e.message)
        return ""
    ctx.journal.step("on_duty", roster=name, person=duty.extension, why=duty.why)
    person = ctx.plan.staff.get(duty.extension)
    if person is not None and ctx.plan.rosters[name].ring == "mobile" and person.mobile:
        return person.mobile
    return duty.extension


async def on_duty_members(node: HuntNode, ctx: FlowContext) -> HuntNode:
    """The node with every roster target replaced by the person on duty now."""
    if not any(roster_name(t) for m in node.members for t in (m.target, *m.follow_me)):
        return node
    members: list[HuntMember] = []
    for m in node.members:
        target = await _resolve(m.target, ctx)
        follow_me = tuple(t for t in [await _resolve(f, ctx) for f in m.follow_me] if t)
        if not target:
            if m.target.startswith("roster:"):
                ctx.journal.step("skipped", member=m.target, reason="nobody on duty")
            if not follow_me:
                continue
            target, follow_me = follow_me[0], follow_me[1:]
        members.append(replace(m, target=target, follow_me=follow_me))
    return replace(node, members=tuple(members))
