"""Who is on duty in a roster at a moment (`rosters:` in the plan, docs/plan-format.md#rosters).

A duty day starts at the roster's `change_at` (local time, midnight by default). For that day the
first of these names the person: an override stored in the database (`ivr roster set`, the
console), the plan's `dates`, the holiday person on a holiday of `holiday_schedule`, the plan's
`weekdays`, then the turn of `people` counted from `start`. Standard library only.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ivr.plan.model import Plan, Roster

PREFIX = "roster:"      # a hunt member or forward target naming a roster: "roster:managers"


def roster_name(target: str) -> str:
    """The roster a target names, or "" for a plain extension or number."""
    return target[len(PREFIX):] if target.startswith(PREFIX) else ""


def duty_day(roster: Roster, at: datetime, tz: ZoneInfo) -> date:
    local = at.astimezone(tz)
    day = local.date()
    return day - timedelta(days=1) if local.time() < roster.change_at else day


def planned(roster: Roster, day: date, plan: Plan) -> tuple[str, str]:
    """(extension, why) the plan itself names for a duty day; ("", "nobody") when it names nobody."""
    if day in roster.dates:
        return roster.dates[day], "date"
    schedule = plan.schedules.get(roster.holiday_schedule)
    if schedule is not None and roster.holiday_person and day in schedule.holidays:
        return roster.holiday_person, "holiday"
    if day.weekday() in roster.weekdays:
        return roster.weekdays[day.weekday()], "weekday"
    if roster.people:
        turn = (day - roster.start).days // roster.every
        return roster.people[turn % len(roster.people)], "rotation"
    return "", "nobody"


def on_duty(plan: Plan, name: str, at: datetime, overrides: Mapping[tuple[str, date], str]) -> tuple[str, str]:
    """(extension, why) of whoever is on duty in roster `name` at `at`; why is override, date,
    holiday, weekday, rotation or nobody."""
    roster = plan.rosters[name]
    day = duty_day(roster, at, ZoneInfo(plan.timezone))
    person = overrides.get((name, day))
    if person:
        return person, "override"
    return planned(roster, day, plan)
