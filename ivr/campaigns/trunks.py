"""Which trunk a campaign call takes: the carrier router's choice among the trunks with a channel
left for campaigns (capacity minus live channels minus those kept for inbound calls), counted at
once so the next decision sees it."""
from __future__ import annotations

import logging

from ivr.campaigns.model import Attempt, Profile
from ivr.errors import IvrError
from ivr.plan.model import Plan
from ivr.routing.router import Decision, Router

log = logging.getLogger(__name__)

# Channels campaigns may still take per trunk; None: the trunk has no capacity limit.
Budget = dict[str, "int | None"]


def trunk_budget(plan: Plan, counts: dict[str, int], reserve_inbound: int) -> Budget:
    """Channels campaigns may take per trunk (None: no limit); `reserve_inbound` stay free on each."""
    return {t.name: max(0, t.capacity - reserve_inbound - counts.get(t.name, 0)) if t.capacity > 0 else None
            for t in plan.trunks.values()}


def has_room(budget: Budget, trunk: str) -> bool:
    return budget.get(trunk) is None or budget[trunk] > 0


def take_room(budget: Budget, trunk: str) -> None:
    if budget.get(trunk) is not None:
        budget[trunk] -= 1


def pick_trunk(decision: Decision, plan: Plan, budget: Budget) -> str | None:
    """The router's first candidate with a campaign channel free; but while the callee's own
    carrier has trunks, only those (a full one is waited for, not paid around)."""
    carrier = decision.info.carrier
    own = {t.name for t in plan.trunks.values() if carrier and carrier in t.carriers}
    for candidate in decision.candidates:
        name = candidate.trunk.name
        if own and name not in own:
            continue
        if has_room(budget, name):
            return name
    return None


def default_trunk(plan: Plan) -> str:
    """Without the carrier router, or for a number it cannot route: the plan's default trunk."""
    return plan.default_trunk or "default"


def _count(router: Router, trunk: str) -> None:
    # counted at once, so the next decision (inbound staff calls too) sees this channel
    router.channels.reserve(trunk)
    router.rates.record("trunk:" + trunk)


def trunk_for(router: Router | None, number: str, plan: Plan, budget: Budget) -> str | None:
    """The carrier router's choice among trunks with a channel left for campaigns in `budget`
    (taken from it), else None: the row waits. Without a router, or for a number it cannot route,
    the plan's default trunk."""
    decision = None
    if router is not None:
        try:
            decision = router.decide(number)
        except IvrError as e:
            log.warning("campaign route failed number=%s error=%s", number, e.message)
    name = pick_trunk(decision, plan, budget) if decision is not None else default_trunk(plan)
    if name is None or not has_room(budget, name):
        return None
    take_room(budget, name)
    if router is not None:
        _count(router, name)
    return name


async def next_trunk(router: Router | None, attempt: Attempt, plan: Plan, profile: Profile) -> str | None:
    """The router's first candidate this attempt has not tried that has a channel left for
    campaigns (counted at once, like trunk_for); None without a router or candidates."""
    if router is None:
        return None
    tried = {*attempt.tried, attempt.trunk}
    try:
        await router.refresh()
        decision = router.decide(attempt.number)
    except IvrError as e:
        log.warning("campaign fail over: no route number=%s error=%s", attempt.number, e.message)
        return None
    budget = trunk_budget(plan, router.channels.counts(), profile.pacing.reserve_inbound)
    for candidate in decision.candidates:
        name = candidate.trunk.name
        if name not in tried and has_room(budget, name):
            _count(router, name)
            return name
    return None
