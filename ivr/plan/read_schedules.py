"""A plan's schedules: weekly hours, holidays and closures (`schedules:`)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ruamel.yaml.nodes import Node as YNode, ScalarNode, SequenceNode

from ivr.errors import ConfigError
from ivr.plan import schedule as sched
from ivr.plan.model import Closure, Schedule, TimeRange
from ivr.yaml_reader import Fields, describe

if TYPE_CHECKING:
    from ivr.plan.validate import PlanBuilder

SCHEDULE_KEYS = ("hours", "holidays", "closures")
HOLIDAY_KEYS = ("date", "from", "to", "name")
CLOSURE_KEYS = ("from", "to", "reason")


def read_schedules(b: PlanBuilder, top: Fields) -> dict[str, Schedule]:
    r = b.r
    node = top.get("schedules")
    fields = r.mapping(node, "schedules") if node is not None else None
    if fields is None:
        return {}
    schedules = {}
    for name, (key, value) in fields.entries.items():
        b.schedule_names.add(name)
        info = r.mapping(value, f"schedule '{name}'", SCHEDULE_KEYS)
        if info is None:
            continue
        hours = r.require(info, "hours", f"schedule '{name}'")
        weekly = _hours(b, hours) if hours is not None else {}
        holidays = r.optional(info, "holidays", lambda n, w: _holidays(b, n), {})
        closures = r.optional(info, "closures", lambda n, w: _closures(b, n), ())
        schedules[name] = Schedule(name=name, weekly=weekly, holidays=holidays, closures=closures)
    return schedules


def _hours(b: PlanBuilder, node: YNode) -> dict[int, tuple[TimeRange, ...]]:
    r = b.r
    fields = r.mapping(node, "hours")
    weekly: dict[int, tuple[TimeRange, ...]] = {day: () for day in range(7)}
    given: dict[int, str] = {}
    for days_text, (key, value) in (fields.entries.items() if fields else ()):
        try:
            days = sched.parse_days(days_text)
        except ConfigError as e:
            r.problem(key, f"hours: {e.message}")
            continue
        fresh = []
        for day in days:
            if day in given:
                r.problem(key, f"hours: {sched.DAY_NAMES[day]} is in both '{given[day]}' and '{days_text}'")
            else:
                given[day] = days_text
                fresh.append(day)
        if isinstance(value, SequenceNode):
            text = ", ".join(t for t, _ in r.texts(value, f"hours {days_text}"))
        else:
            text = r.text(value, f"hours {days_text}")
        if text is None:
            continue
        try:
            ranges = sched.parse_ranges(text)
        except ConfigError as e:
            r.problem(value, f"hours {days_text}: {e.message}")
            continue
        for day in fresh:
            weekly[day] = ranges
    return weekly


def read_date(b: PlanBuilder, node: YNode, what: str) -> date | None:
    text = b.r.text(node, what)
    if text is None:
        return None
    try:
        return sched.parse_date(text)
    except ConfigError as e:
        b.r.problem(node, f"{what}: {e.message}")
        return None


def _holidays(b: PlanBuilder, node: YNode) -> dict[date, str]:
    r = b.r
    if not isinstance(node, SequenceNode):
        r.problem(node, f"holidays: expected a list of dates, got {describe(node)}")
        return {}
    holidays: dict[date, str] = {}
    for item in node.value:
        if isinstance(item, ScalarNode):
            day = read_date(b, item, "holidays")
            if day is not None:
                holidays[day] = ""
            continue
        info = r.mapping(item, "holiday", HOLIDAY_KEYS)
        if info is None:
            continue
        name = r.optional(info, "name", r.text, "")
        if info.get("date") is not None:
            if info.get("from") is not None or info.get("to") is not None:
                r.problem(item, "holiday: give either date, or from and to")
            day = read_date(b, info.get("date"), "date")
            if day is not None:
                holidays[day] = name
            continue
        first_node, last_node = r.require(info, "from", "holiday"), r.require(info, "to", "holiday")
        first = read_date(b, first_node, "from") if first_node is not None else None
        last = read_date(b, last_node, "to") if last_node is not None else None
        if first is None or last is None:
            continue
        if last < first:
            r.problem(last_node, f"holiday: ends ({last}) before it starts ({first})")
        elif (last - first).days > 366:
            r.problem(last_node, "holiday: longer than a year")
        else:
            for i in range((last - first).days + 1):
                holidays[first + timedelta(days=i)] = name
    return holidays


def _closures(b: PlanBuilder, node: YNode) -> tuple[Closure, ...]:
    r = b.r
    if not isinstance(node, SequenceNode):
        r.problem(node, f"closures: expected a list, got {describe(node)}")
        return ()
    closures = []
    for item in node.value:
        info = r.mapping(item, "closure", CLOSURE_KEYS)
        if info is None:
            continue
        ends = []
        for name in ("from", "to"):
            value = r.require(info, name, "closure")
            text = r.text(value, name) if value is not None else None
            moment = None
            if text is not None:
                # With an unknown zone (already reported) UTC still lets the format be checked.
                zone = b.tz or ZoneInfo("UTC")
                try:
                    moment = sched.parse_local_datetime(text, zone, end=name == "to")
                except ConfigError as e:
                    r.problem(value, f"{name}: {e.message}")
            ends.append((moment, value))
        reason = r.optional(info, "reason", r.text, "")
        (start, _), (end, end_node) = ends
        if start is None or end is None:
            continue
        if end <= start:
            r.problem(end_node, "closure: 'to' must be after 'from'")
            continue
        closures.append(Closure(start=start, end=end, reason=reason))
    return tuple(closures)

