"""Time to call back (first missed → closed): median, 90th percentile and the share closed within
15 minutes, per day (in the plan's time zone) and per company number."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr.missed.store import MissedItem

WITHIN_SECONDS = 15 * 60


@dataclass(frozen=True)
class Stats:
    group: str            # a day (YYYY-MM-DD) or a company number
    items: int            # items first missed in the group (short ones left out)
    closed: int
    median_seconds: float | None
    p90_seconds: float | None
    within_15min: float   # share of the group's items closed within 15 minutes, 0..1

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "items": self.items, "closed": self.closed,
                "median_seconds": self.median_seconds, "p90_seconds": self.p90_seconds,
                "within_15min": self.within_15min}


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    total: Stats
    by_day: tuple[Stats, ...]
    by_number: tuple[Stats, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "total": self.total.to_dict(),
                "by_day": [s.to_dict() for s in self.by_day], "by_number": [s.to_dict() for s in self.by_number]}


def percentile(values: list[float], share: float) -> float | None:
    """Linear interpolation between the closest ranks (numpy's default), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * share
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def stats(group: str, items: list[MissedItem]) -> Stats:
    times = [i.callback_seconds for i in items if i.status == "closed" and i.callback_seconds is not None]
    within = sum(1 for t in times if t <= WITHIN_SECONDS)
    return Stats(group=group, items=len(items), closed=len(times), median_seconds=percentile(times, 0.5),
                 p90_seconds=percentile(times, 0.9), within_15min=within / len(items) if items else 0.0)


def build_report(items: list[MissedItem], since: datetime, until: datetime, timezone: str,
                 include_short: bool = False) -> Report:
    tz = ZoneInfo(timezone)
    kept = [i for i in items if include_short or not i.short]
    days: dict[str, list[MissedItem]] = defaultdict(list)
    numbers: dict[str, list[MissedItem]] = defaultdict(list)
    for item in kept:
        days[item.first_at.astimezone(tz).date().isoformat()].append(item)
        numbers[item.company_number].append(item)
    return Report(since=since, until=until, total=stats("total", kept),
                  by_day=tuple(stats(d, days[d]) for d in sorted(days)),
                  by_number=tuple(stats(n, numbers[n]) for n in sorted(numbers)))
