"""When a passenger may be called: pure functions of the profile, the callee's zone and a clock.

A row's `next_at` is always a moment the callee may be called (inside the profile's hours in the
callee's local time, not on a holiday unless allowed, before the deadline), so the dialer only
compares `next_at <= now`. Retries: each outcome has its own delay and limit, and the profile caps
all attempts of a row.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as pn_timezone

from ivr.campaigns.model import ANSWERS, Passenger, Profile
from ivr.plan.model import Plan

# How far ahead a call time is searched; a longer gap means the hours or holidays leave no time.
HORIZON_DAYS = 31


@dataclass(frozen=True)
class Decision:
    """What happens to a row after an attempt (or at planning): call again at `next_at`, or stop."""

    final: bool
    result: str                   # answer, last outcome, or why the row was given up
    next_at: datetime | None = None


@lru_cache(maxsize=256)
def zone_info(name: str) -> ZoneInfo:
    """ZoneInfo by name, kept: zoneinfo holds only 8 zones strongly and Russia alone has 11, so
    planning a large campaign kept re-reading zone files (half of its time at 100,000 rows)."""
    return ZoneInfo(name)


def callee_timezone(phone: str, plan: Plan, lookup=None) -> str:
    """The callee's zone from the carrier lookup's region data, else the plan's."""
    return callee_zone(phone, plan, lookup)[0]


def callee_zone(phone: str, plan: Plan, lookup=None) -> tuple[str, str]:
    """The callee's zone and, when it is the plan's for want of better, why ("" when known): the
    registry's region of the number, or a country with one zone."""
    if lookup is None:
        return plan.timezone, "no numbering registry is used here"
    try:
        info = lookup.lookup(phone)
    except Exception:        # an unknown number format must not stop an import
        return plan.timezone, "the number could not be looked up"
    zone = info.timezone
    if zone:
        try:
            zone_info(zone)
        except (ZoneInfoNotFoundError, ValueError):
            return plan.timezone, f"unknown time zone {zone!r}"
        if getattr(info, "region", "") or _one_zone(phone):
            return zone, ""
    counts = getattr(lookup, "counts", {})
    if counts.get("ranges", 1) == 0:
        return plan.timezone, "the numbering registry is not imported (ivr numbering import)"
    return (zone or plan.timezone), "the number is not in the numbering registry"


def _one_zone(phone: str) -> bool:
    """A country (or number range) of one time zone needs no registry."""
    try:
        zones = pn_timezone.time_zones_for_number(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        return False
    return len(zones) == 1 and zones[0] != "Etc/Unknown"


def holidays_of(plan: Plan, profile: Profile) -> frozenset[date]:
    """The plan's holidays that stop calls: those of the named schedules, or of all of them."""
    if profile.call_on_holidays:
        return frozenset()
    names = profile.holidays_from or tuple(plan.schedules)
    return frozenset(d for n in names if n in plan.schedules for d in plan.schedules[n].holidays)


def deadline(passenger: Passenger, profile: Profile) -> datetime | None:
    """No calls after departure minus the profile's hours."""
    if passenger.departure is None:
        return None
    return passenger.departure - timedelta(hours=profile.deadline_hours)


def next_call_time(earliest: datetime, zone: str, profile: Profile, holidays: Iterable[date],
                   until: datetime | None) -> datetime | None:
    """The first moment at or after `earliest` inside the callee's hours, not on a holiday, and not
    after `until`; None when there is none."""
    tz = zone_info(zone)
    days_off = frozenset(holidays)
    local = earliest.astimezone(tz)
    for offset in range(HORIZON_DAYS):
        day = local.date() + timedelta(days=offset)
        if day in days_off:
            continue
        for r in profile.hours.get(day.weekday(), ()):
            start = datetime.combine(day, r.start, tzinfo=tz)
            end = datetime.combine(day, time.max if r.end == time.max else r.end, tzinfo=tz)
            candidate = max(start, earliest)
            if candidate >= end:
                continue
            if until is not None and candidate > until:
                return None
            return candidate
    return None


def plan_first(passenger: Passenger, zone: str, profile: Profile, holidays: Iterable[date],
               now: datetime) -> Decision:
    """The first attempt of a new row."""
    limit = deadline(passenger, profile)
    if limit is not None and now > limit:
        return Decision(True, "expired")
    when = next_call_time(now, zone, profile, holidays, limit)
    if when is None:
        return Decision(True, "no_time_left")
    return Decision(False, "", when)


def after_attempt(outcome: str, counts: Mapping[str, int], attempts: int, passenger: Passenger, zone: str,
                  profile: Profile, holidays: Iterable[date], now: datetime) -> Decision:
    """The row's fate after an attempt ended with `outcome`; `counts` are the row's attempts by
    outcome including this one, `attempts` all of them."""
    if outcome in ANSWERS or outcome not in profile.retry:
        return Decision(True, outcome)
    rule = profile.retry[outcome]
    if counts.get(outcome, 0) >= rule.limit or attempts >= profile.max_attempts:
        return Decision(True, outcome)
    limit = deadline(passenger, profile)
    when = next_call_time(now + timedelta(seconds=rule.after), zone, profile, holidays, limit)
    if when is None:
        return Decision(True, outcome)
    return Decision(False, outcome, when)
