"""On-duty rosters at run time: the plan's rosters with the database's overrides for single duty
days (`ivr roster set`, the console page, `POST /api/rosters/{name}/{date}`). Every process (the
service, the CLI) reads the overrides from the database, so an edit counts from the next call on.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from ivr.errors import InvalidInput, NotFound
from ivr.plan.model import Plan
from ivr.plan.roster import duty_day, on_duty, planned
from ivr.store.db import Database
from ivr.store.models import RosterOverrideRow

log = logging.getLogger(__name__)


class UnknownRoster(NotFound):
    error_id = "unknown-roster"


@dataclass(frozen=True)
class Duty:
    """Who is on duty in one roster on one duty day, and why (override, date, holiday, weekday,
    rotation, nobody)."""
    roster: str
    day: date
    extension: str
    why: str
    name: str = ""           # the person's name in the plan
    changed_by: str = ""     # an override: who set it

    def to_dict(self) -> dict[str, str]:
        return {"roster": self.roster, "day": self.day.isoformat(), "extension": self.extension,
                "why": self.why, "name": self.name, "changed_by": self.changed_by}


class Rosters:
    def __init__(self, db: Database, now: Callable[[], datetime], plan: Callable[[], Plan | None]):
        self.db, self.now, self.plan = db, now, plan

    def _plan(self, roster: str) -> Plan:
        plan = self.plan()
        if plan is None or roster not in plan.rosters:
            known = ", ".join(sorted(plan.rosters)) if plan else ""
            raise UnknownRoster(f"no roster '{roster}' in the plan" + (f" (rosters: {known})" if known else ""))
        return plan

    async def _overrides(self, roster: str, first: date, last: date) -> dict[date, RosterOverrideRow]:
        query = select(RosterOverrideRow).where(RosterOverrideRow.roster == roster, RosterOverrideRow.day >= first,
                                                RosterOverrideRow.day <= last)
        async with self.db.session() as session:
            return {r.day: r for r in (await session.scalars(query)).all()}

    async def on_duty(self, roster: str, at: datetime | None = None) -> Duty:
        """Whoever is on duty in `roster` at `at` (now by default)."""
        plan = self._plan(roster)
        at = at or self.now()
        day = duty_day(plan.rosters[roster], at, ZoneInfo(plan.timezone))
        rows = await self._overrides(roster, day, day)
        ext, why = on_duty(plan, roster, at, {(roster, d): r.extension for d, r in rows.items()})
        return self._duty(plan, roster, day, ext, why, rows.get(day))

    async def days(self, roster: str, first: date, count: int) -> list[Duty]:
        """The duty of `count` days from `first` on, overrides included (the console's table)."""
        plan = self._plan(roster)
        last = first + timedelta(days=count - 1)
        rows = await self._overrides(roster, first, last)
        out = []
        for i in range(count):
            day = first + timedelta(days=i)
            row = rows.get(day)
            ext, why = (row.extension, "override") if row else planned(plan.rosters[roster], day, plan)
            out.append(self._duty(plan, roster, day, ext, why, row))
        return out

    async def overview(self, days: int) -> list[dict[str, Any]]:
        """Every roster of the plan: who is on duty now, and the next `days` duty days."""
        plan, out = self.plan(), []
        for name in sorted(plan.rosters if plan else {}):
            now = await self.on_duty(name)
            ahead = await self.days(name, self.today(name), days)
            out.append({"name": name, "now": now.to_dict(), "days": [d.to_dict() for d in ahead]})
        return out

    async def duty_map(self, plan: Plan, at: datetime) -> dict[str, tuple[str, str]]:
        """Roster name -> (extension, why) at `at` for every roster of `plan` (a draft too): what
        `ivr plan try` shows."""
        out = {}
        for name, roster in plan.rosters.items():
            day = duty_day(roster, at, ZoneInfo(plan.timezone))
            rows = await self._overrides(name, day, day)
            out[name] = on_duty(plan, name, at, {(name, d): r.extension for d, r in rows.items()})
        return out

    def today(self, roster: str) -> date:
        plan = self._plan(roster)
        return duty_day(plan.rosters[roster], self.now(), ZoneInfo(plan.timezone))

    @staticmethod
    def _duty(plan: Plan, roster: str, day: date, ext: str, why: str, row: RosterOverrideRow | None) -> Duty:
        person = plan.staff.get(ext)
        return Duty(roster, day, ext, why, person.name if person else "", row.changed_by if row else "")

    async def set(self, roster: str, day: date, extension: str, by: str) -> Duty:
        """`extension` is on duty in `roster` on `day`; "" clears the day's override."""
        plan = self._plan(roster)
        if extension and extension not in plan.staff:
            raise InvalidInput(f"extension: no staff extension {extension} in the plan")
        async with self.db.session() as session, session.begin():
            if not extension:
                await session.execute(delete(RosterOverrideRow).where(RosterOverrideRow.roster == roster,
                                                                      RosterOverrideRow.day == day))
            else:
                row = await session.get(RosterOverrideRow, (roster, day))
                if row is None:
                    row = RosterOverrideRow(roster=roster, day=day)
                    session.add(row)
                row.extension, row.changed_by, row.changed_at = extension, by, self.now()
        log.info("roster %s day=%s on duty=%s by=%s", roster, day, extension or "(as planned)", by)
        return (await self.days(roster, day, 1))[0]


def parse_day(text: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{what}: '{text}' is not a date like 2026-12-31") from None
