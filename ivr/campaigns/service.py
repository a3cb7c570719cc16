"""Creating campaigns from passengers (CSV import, HTTP API): each row gets its callee's zone and
its first call time before it is stored."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ivr.campaigns import scheduler
from ivr.campaigns.model import Attempt, Campaign, CampaignError, Passenger, Profile
from ivr.campaigns.store import CampaignStore
from ivr.plan.model import Plan
from ivr.routing import report
from ivr.routing.lookup import CarrierLookup


def profile_named(profiles: dict[str, Profile], name: str) -> Profile:
    if name not in profiles:
        raise CampaignError(f"no campaign profile '{name}' (have: {', '.join(sorted(profiles))})")
    return profiles[name]


@dataclass(frozen=True)
class Added:
    added: int
    skipped_keys: list[str]
    # why a row's calling hours are the plan's zone for want of the callee's -> rows
    zone_fallbacks: dict[str, int] = field(default_factory=dict)

    def fallback_lines(self, plan_zone: str) -> list[str]:
        return [f"{n} row(s) call in {plan_zone} hours: {why}" for why, n in self.zone_fallbacks.items()]

    def to_dict(self) -> dict:
        return {"added": self.added, "skipped_keys": self.skipped_keys,
                "zone_fallbacks": [{"reason": why, "rows": n} for why, n in self.zone_fallbacks.items()]}


async def add_passengers(store: CampaignStore, campaign: Campaign, profile: Profile, plan: Plan,
                         passengers: Iterable[Passenger], now: datetime, lookup=None) -> Added:
    """Store passengers with their first call time (each callee's local hours)."""
    holidays = scheduler.holidays_of(plan, profile)
    rows = []
    fallbacks: Counter[str] = Counter()
    for p in passengers:
        zone, why = scheduler.callee_zone(p.phone, plan, lookup)
        if why:
            fallbacks[why] += 1
        rows.append((p, zone, scheduler.plan_first(p, zone, profile, holidays, now)))
    added, skipped = await store.add_rows(campaign.id, rows, now)
    return Added(added, skipped, dict(fallbacks))


async def create_campaign(store: CampaignStore, name: str, profile: Profile, plan: Plan,
                          passengers: Iterable[Passenger], now: datetime, lookup=None) -> tuple[Campaign, int]:
    campaign = await store.create(name, profile.kind, profile.name, now, profile.dispatcher)
    added = await add_passengers(store, campaign, profile, plan, passengers, now, lookup)
    return campaign, added.added


def trunk_report(attempts: Iterable[Attempt], plan: Plan, lookup: CarrierLookup) -> dict:
    """Calls, answered calls, minutes and cost per trunk of a campaign's attempts, and the saving
    against the default trunk (ivr.routing.report's summary, on the attempts the dialer stored)."""
    return report.summarize((report.Attempt(
        a.trunk, a.number, a.created_at, a.answered_at is not None,
        int((a.ended_at - a.answered_at).total_seconds()) if a.answered_at and a.ended_at else 0)
        for a in attempts), plan, lookup)
