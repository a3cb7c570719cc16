"""The plan's `rosters:` section (docs/plan-format.md#rosters), read like the rest of the plan
(problems at FILE:LINE:COL) into Roster values."""
from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from ruamel.yaml.nodes import Node as YNode

from ivr.errors import ConfigError
from ivr.plan import schedule as sched
from ivr.plan.model import Roster
from ivr.plan.read_schedules import read_date

if TYPE_CHECKING:                      # validate imports this module
    from ivr.plan.validate import PlanBuilder as PlanValidator
    from ivr.yaml_reader import Fields

ROSTER_KEYS = ("people", "start", "every", "weekdays", "dates", "holidays", "change_at", "ring")
HOLIDAY_KEYS = ("schedule", "person")
EVERY = {"day": 1, "week": 7}
RING = ("phone", "mobile")
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def read_rosters(v: PlanValidator, top: Fields) -> dict[str, Roster]:
    """Every roster of the plan; staff and schedules are read before."""
    r = v.r
    node = top.get("rosters")
    fields = r.mapping(node, "rosters") if node is not None else None
    if fields is None:
        return {}
    rosters = {}
    for name, (key, value) in fields.entries.items():
        if not _NAME.fullmatch(name):
            r.problem(key, f"rosters: name '{name}' must be lower-case letters, digits, '_' or '-' (up to 32)")
            continue
        v.roster_names.add(name)
        info = r.mapping(value, f"roster '{name}'", ROSTER_KEYS)
        if info is not None:
            rosters[name] = _roster(v, name, info)
    return rosters


def _person(v: PlanValidator, node: YNode, what: str) -> str:
    ext = v.r.text(node, what)
    return ext if ext is not None and v.extension(ext, node, what) else ""


def _roster(v: PlanValidator, name: str, info: Fields) -> Roster:
    r, what = v.r, f"roster '{name}'"
    people = []
    if (n := info.get("people")) is not None:
        people = [ext for ext, item in r.texts(n, f"{what}: people") if v.extension(ext, item, f"{what}: people")]
    start = Roster.start
    if (n := info.get("start")) is not None:
        start = read_date(v, n, f"{what}: start") or start
    every = 7
    if (n := info.get("every")) is not None:
        text = r.text(n, f"{what}: every")
        if text in EVERY:
            every = EVERY[text]
        elif text is not None and text.isdigit() and int(text) > 0:
            every = int(text)
        elif text is not None:
            r.problem(n, f"{what}: every: '{text}' is not day, week or a number of days")
    weekdays: dict[int, str] = {}
    if (n := info.get("weekdays")) is not None and (f := r.mapping(n, f"{what}: weekdays")) is not None:
        for days_text, (key, value) in f.entries.items():
            try:
                days = sched.parse_days(days_text)
            except ConfigError as e:
                r.problem(key, f"{what}: weekdays: {e.message}")
                continue
            if person := _person(v, value, f"{what}: weekdays {days_text}"):
                weekdays.update({day: person for day in days})
    dates: dict[date, str] = {}
    if (n := info.get("dates")) is not None and (f := r.mapping(n, f"{what}: dates")) is not None:
        for day_text, (key, value) in f.entries.items():
            day = read_date(v, key, f"{what}: dates")
            if day is not None and (person := _person(v, value, f"{what}: dates {day_text}")):
                dates[day] = person
    holiday_schedule, holiday_person = "", ""
    if (n := info.get("holidays")) is not None and (f := r.mapping(n, f"{what}: holidays", HOLIDAY_KEYS)):
        schedule_node, person_node = r.require(f, "schedule", f"{what}: holidays"), r.require(f, "person", f"{what}: holidays")
        if schedule_node is not None:
            holiday_schedule = r.text(schedule_node, "schedule") or ""
            if holiday_schedule and holiday_schedule not in v.schedule_names:
                r.problem(schedule_node, f"{what}: holidays: no schedule '{holiday_schedule}'")
        if person_node is not None:
            holiday_person = _person(v, person_node, f"{what}: holidays person")
    change_at = Roster.change_at
    if (n := info.get("change_at")) is not None and (text := r.text(n, f"{what}: change_at")) is not None:
        try:
            change_at = sched.parse_time(text)
        except ConfigError as e:
            r.problem(n, f"{what}: change_at: {e.message}")
    ring = r.optional(info, "ring", lambda n, w: r.choice(n, f"{what}: ring", RING), "phone") or "phone"
    if not (people or weekdays or dates or holiday_person):
        r.problem(info.at, f"{what}: names nobody (give people, weekdays or dates)")
    return Roster(name=name, people=tuple(people), start=start, every=every, weekdays=weekdays, dates=dates,
                  holiday_schedule=holiday_schedule, holiday_person=holiday_person, change_at=change_at, ring=ring)
