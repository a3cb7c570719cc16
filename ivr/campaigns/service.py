"""Creating campaigns from passengers (CSV import, HTTP API): each row gets its callee's zone and
its first call time before it is stored."""
from __future__ import annotations

from collections.abc import Iterable
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


async def add_passengers(store: CampaignStore, campaign: Campaign, profile: Profile, plan: Plan,
                         passengers: Iterable[Passenger], now: datetime, lookup=None) -> tuple[int, list[str]]:
    """Store passengers with their first call time; returns (added, idempotency keys already there)."""
    holidays = scheduler.holidays_of(plan, profile)
    rows = []
    for p in passengers:
        zone = scheduler.callee_timezone(p.phone, plan, lookup)
        rows.append((p, zone, scheduler.plan_first(p, zone, profile, holidays, now)))
    return await store.add_rows(campaign.id, rows, now)


async def create_campaign(store: CampaignStore, name: str, profile: Profile, plan: Plan,
                          passengers: Iterable[Passenger], now: datetime, lookup=None) -> tuple[Campaign, int]:
    campaign = await store.create(name, profile.kind, profile.name, now, profile.dispatcher)
    added, _ = await add_passengers(store, campaign, profile, plan, passengers, now, lookup)
    return campaign, added


def trunk_report(attempts: Iterable[Attempt], plan: Plan, lookup: CarrierLookup) -> dict:
    """Calls, answered calls, minutes and cost per trunk of a campaign's attempts, and the saving
    against the default trunk (ivr.routing.report's summary, on the attempts the dialer stored)."""
    return report.summarize((report.Attempt(
        a.trunk, a.number, a.created_at, a.answered_at is not None,
        int((a.ended_at - a.answered_at).total_seconds()) if a.answered_at and a.ended_at else 0)
        for a in attempts), plan, lookup)
