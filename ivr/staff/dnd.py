"""Do-not-disturb of staff phones: *78 on, *79 off, the console and the API. Hunts, ring-all and
queues skip a phone in DND at once, without spending its ring time (ivr.flows.hunt.Hunt.skip_reason).

The state is kept in the database (it survives a restart) and in memory (a hunt asks for every
member of every call).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ivr.errors import NotFound
from ivr.plan.model import Plan
from ivr.store.db import Database
from ivr.store.models import StaffStateRow

log = logging.getLogger(__name__)


class UnknownExtension(NotFound):
    error_id = "unknown-extension"


@dataclass(frozen=True)
class DndState:
    extension: str
    dnd: bool
    changed_by: str = ""
    changed_at: datetime | None = None

    def to_dict(self) -> dict[str, object]:
        return {"extension": self.extension, "dnd": self.dnd, "changed_by": self.changed_by,
                "changed_at": self.changed_at.isoformat() if self.changed_at else None}


Show = Callable[[str, bool], Awaitable[None]]      # (extension, dnd) -> the phone's lamp follows


async def _nowhere(extension: str, dnd: bool) -> None:
    return None


class DoNotDisturb:
    def __init__(self, db: Database, now: Callable[[], datetime], plan: Callable[[], Plan | None],
                 show: Show = _nowhere):
        self.db, self.now, self.plan, self.show = db, now, plan, show
        self._states: dict[str, DndState] = {}

    async def load(self) -> None:
        async with self.db.session() as session:
            rows = (await session.scalars(select(StaffStateRow))).all()
        self._states = {r.extension: DndState(r.extension, r.dnd, r.changed_by, r.changed_at) for r in rows}

    def on(self, extension: str) -> bool:
        state = self._states.get(extension)
        return state is not None and state.dnd

    def state(self, extension: str) -> DndState:
        return self._states.get(extension) or DndState(extension, False)

    def phones(self) -> list[dict[str, object]]:
        """Every staff phone of the plan with its name and do-not-disturb state, by extension."""
        staff = plan.staff if (plan := self.plan()) else {}
        return [{"name": s.name, **self.state(ext).to_dict()} for ext, s in sorted(staff.items())]

    async def set(self, extension: str, dnd: bool, by: str) -> DndState:
        plan = self.plan()
        if plan is not None and extension not in plan.staff:
            raise UnknownExtension(f"no staff extension {extension} in the plan")
        at = self.now()
        async with self.db.session() as session, session.begin():
            row = await session.get(StaffStateRow, extension)
            if row is None:
                row = StaffStateRow(extension=extension)
                session.add(row)
            row.dnd, row.changed_by, row.changed_at = dnd, by, at
        state = self._states[extension] = DndState(extension, dnd, by, at)
        log.info("do-not-disturb %s ext=%s by=%s", "on" if dnd else "off", extension, by)
        await self.show(extension, dnd)
        return state

    async def show_all(self) -> None:
        """Every phone's state to Asterisk again (after it restarted, it knows none)."""
        plan = self.plan()
        for ext in plan.staff if plan else ():
            await self.show(ext, self.on(ext))
