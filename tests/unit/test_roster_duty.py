"""On-duty rosters: who is on duty at a moment (rotation, weekdays, dates, holidays, the duty day's
start, the database's overrides), and a hunt naming a roster rings that person."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from ivr.errors import InvalidInput
from ivr.flows import hunt
from ivr.flows.context import Services
from ivr.plan.loader import load_plan_text
from ivr.plan.model import Roster
from ivr.plan.roster import on_duty
from ivr.plan.trace import trace
from ivr.staff.rosters import Duty, Rosters, UnknownRoster
from test_hunt_flow import Phone, group, make_ctx, steps

MSK = ZoneInfo("Europe/Moscow")
PLAN = load_plan_text("""\
company: X
timezone: Europe/Moscow
country: RU
language: ru
numbers:
  "+74951112233": {entry: night}
schedules:
  office: {hours: {mon-fri: "09:00-18:00"}, holidays: [2027-01-01]}
staff:
  "201": {name: Cook, mobile: "+79161234567"}
  "202": Waiter
  "203": Manager
rosters:
  night: {people: ["201", "202"], start: 2026-11-23, every: day}
  weekly:
    people: ["201", "202", "203"]
    start: 2026-11-23
    weekdays: {sun: "203"}
    dates: {2026-12-31: "202"}
    holidays: {schedule: office, person: "203"}
    change_at: "09:00"
    ring: mobile
nodes:
  night: {type: forward, number: "roster:weekly", then: bye}
  bye: {type: hangup}
""", "plan.yaml", secrets_path=Path(__file__).parent / "plans" / "secrets.yaml")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MSK)


@pytest.mark.parametrize("moment, roster, expected", [
    ("2026-11-25 23:59", "night", ("201", "rotation")),      # Wednesday: the third day, 201 again
    ("2026-11-26 00:00", "night", ("202", "rotation")),      # midnight: Thursday's duty
    ("2026-11-30 08:59", "weekly", ("203", "weekday")),      # before 09:00 it is still Sunday's duty
    ("2026-11-30 09:00", "weekly", ("202", "rotation")),     # the second week
    ("2026-12-31 12:00", "weekly", ("202", "date")),
    ("2027-01-01 12:00", "weekly", ("203", "holiday")),
])
def test_who_is_on_duty(moment, roster, expected):
    assert on_duty(PLAN, roster, at(moment), {}) == expected


def test_an_override_for_the_duty_day_comes_first():
    overrides = {("weekly", date(2026, 11, 29)): "201"}
    assert on_duty(PLAN, "weekly", at("2026-11-30 08:00"), overrides) == ("201", "override")
    assert on_duty(PLAN, "weekly", at("2026-11-30 10:00"), overrides) == ("202", "rotation")


async def test_overrides_are_stored_shown_and_cleared(db):
    now = at("2026-11-26 10:00").astimezone(UTC)
    rosters = Rosters(db, lambda: now, lambda: PLAN)
    assert (await rosters.on_duty("night")).extension == "202"
    duty = await rosters.set("night", date(2026, 11, 26), "203", "olga")
    assert duty == Duty("night", date(2026, 11, 26), "203", "override", "Manager", "olga")
    assert [d.extension for d in await rosters.days("night", date(2026, 11, 25), 3)] == ["201", "203", "201"]
    assert await rosters.duty_map(PLAN, now) == {"night": ("203", "override"), "weekly": ("201", "rotation")}
    await rosters.set("night", date(2026, 11, 26), "", "olga")
    assert (await rosters.on_duty("night")).why == "rotation"
    with pytest.raises(InvalidInput, match="999"):
        await rosters.set("night", date(2026, 11, 26), "999", "olga")
    with pytest.raises(UnknownRoster, match="nights"):
        await rosters.on_duty("nights")


async def test_a_hunt_rings_whoever_is_on_duty_or_skips_an_empty_roster():
    async def duty(name, moment):
        return Duty(name, date(2026, 11, 26), {"night": "102", "empty": ""}[name], "rotation")
    ctx, ari = make_ctx({"102": Phone("answer", after=0.05), "103": Phone("answer", after=0.05)},
                        Services(rosters=SimpleNamespace(on_duty=duty)))
    ctx.plan.rosters = {"night": Roster("night", people=("102",)), "empty": Roster("empty", people=("102",))}
    await hunt.run(group("roster:empty", "roster:night"), ctx)
    assert [t for t, _ in ari.rang] == ["102"]
    assert steps(ctx, "skipped") == [("skipped", "roster:empty", "nobody on duty")]
    assert [s.data for s in ctx.journal.steps if s.kind == "on_duty"] == [
        {"roster": "empty", "person": "", "why": "rotation"}, {"roster": "night", "person": "102", "why": "rotation"}]
    assert ctx.journal.answered_by == "102"


def test_plan_try_names_the_person_and_their_mobile_roster():
    lines = [s.what for s in trace(PLAN, "+74951112233", at("2026-11-30 10:00"))]
    assert "forwarded to roster weekly: on duty 202 (Waiter) (rotation) for 30 s; if unanswered:" in lines
    lines = [s.what for s in trace(PLAN, "+74951112233", at("2026-11-30 10:00"), duty={"weekly": ("201", "override")})]
    assert any("on duty 201 (Cook) (override)" in line for line in lines)
    assert PLAN.rosters["weekly"].ring == "mobile" and PLAN.rosters["weekly"].change_at == time(9, 0)
