"""Business hours: parsing the plan's wording of hours, days and closures, and the state at a moment.

The parsers raise ConfigError with a message fit for an admin; the plan loader adds the position.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ivr.errors import ConfigError
from ivr.plan.model import Schedule, ScheduleState, TimeRange

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
# Admins paste ranges from office documents, where the dash is often an en or em dash.
_DASHES = str.maketrans({"–": "-", "—": "-"})


def parse_time(text: str, *, end: bool = False) -> time:
    """"09:00" -> time(9, 0); "24:00" only as the end of a range, stored as time.max."""
    m = _TIME.fullmatch(text.strip())
    if not m:
        raise ConfigError(f"'{text.strip()}' is not a time of day like 09:00")
    hour, minute = int(m.group(1)), int(m.group(2))
    if end and hour == 24 and minute == 0:
        return time.max
    if hour > 23 or minute > 59:
        allowed = "00:00 to 23:59, or 24:00 as the end of a range" if end else "00:00 to 23:59"
        raise ConfigError(f"'{text.strip()}' is not a time of day ({allowed})")
    return time(hour, minute)


def parse_ranges(text: str) -> tuple[TimeRange, ...]:
    """"09:00-13:00, 14:00-18:00" -> sorted ranges; "closed" -> ()."""
    text = text.translate(_DASHES).strip()
    if text.lower() == "closed":
        return ()
    ranges: list[TimeRange] = []
    for part in (p.strip() for p in text.split(",")):
        start_text, dash, end_text = part.partition("-")
        if not dash or not start_text.strip() or not end_text.strip():
            raise ConfigError(f"'{part}' is not a time range like 09:00-18:00 (or write closed)")
        start, end = parse_time(start_text), parse_time(end_text, end=True)
        if end <= start:
            raise ConfigError(
                f"time range '{part}' ends before it starts; hours past midnight are two ranges, "
                f"e.g. '20:00-24:00' on one day and '00:00-02:00' on the next")
        ranges.append(TimeRange(start, end))
    ranges.sort(key=lambda r: r.start)
    for a, b in zip(ranges, ranges[1:]):
        if b.start < a.end:
            raise ConfigError(f"time ranges in '{text}' overlap")
    return tuple(ranges)


def parse_days(text: str) -> list[int]:
    """"mon-fri" -> [0..4]; "sat, sun"; "daily"; a range may wrap round the week ("fri-mon")."""
    text = text.translate(_DASHES).strip().lower()
    if text == "daily":
        return list(range(7))
    days: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        first, dash, last = (s.strip() for s in part.partition("-"))
        for name in (first, last) if dash else (first,):
            if name not in DAY_NAMES:
                raise ConfigError(
                    f"'{name}' is not a day: use {', '.join(DAY_NAMES)}, ranges like mon-fri, or daily")
        a = DAY_NAMES.index(first)
        b = DAY_NAMES.index(last) if dash else a
        days.extend((a + i) % 7 for i in range((b - a) % 7 + 1))
    return days


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"'{text.strip()}' is not a date like 2026-05-09") from None


def parse_local_datetime(text: str, tz: ZoneInfo, *, end: bool = False) -> datetime:
    """"2026-12-31 15:00" in the plan's zone; a bare date is the start of that day, or as an end,
    the end of that day (so `to: 2027-01-02` includes the 2nd)."""
    text = text.strip()
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            pass
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"'{text}' is not a date and time like 2026-12-31 15:00") from None
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=tz)


def schedule_state(schedule: Schedule, now: datetime, tz: ZoneInfo) -> ScheduleState:
    """"holiday" on a holiday's local date; "closed" in a closure or outside weekly hours; else "open"."""
    if now.tzinfo is None:
        raise ValueError("schedule_state needs an aware datetime")
    local = now.astimezone(tz)
    if local.date() in schedule.holidays:
        return "holiday"
    if any(c.start <= now < c.end for c in schedule.closures):
        return "closed"
    moment = local.time().replace(tzinfo=None)
    for r in schedule.weekly.get(local.weekday(), ()):
        # time.max stands for 24:00, so a range ending then includes the day's last instant.
        if r.start <= moment and (moment < r.end or r.end == time.max):
            return "open"
    return "closed"
