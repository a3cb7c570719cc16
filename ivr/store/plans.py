"""Stored routing-plan versions: every applied plan is kept, exactly one is active."""
from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.store.db import Database
from ivr.store.errors import NoPreviousPlan, PlanVersionNotFound
from ivr.store.models import PlanVersionRow


@dataclass(frozen=True)
class PlanVersion:
    version: int
    created_at: datetime
    source_file: str
    checksum: str
    text: str
    applied_by: str
    active: bool


class PlanStore:
    def __init__(self, db: Database, clock: Callable[[], datetime] | None = None):
        self._db = db
        self._clock = clock or (lambda: datetime.now(UTC))

    async def save(self, text: str, source_file: str, checksum: str, applied_by: str) -> int:
        """Store a plan and make it the active one; returns its version.

        Applying the plan that is already active (same checksum) stores nothing and returns its
        version, so applying a file twice is harmless."""
        async with self._db.session() as session, session.begin():
            current = await _active_row(session)
            if current is not None and current.checksum == checksum:
                return current.version
            if current is not None:
                current.active = False
                await session.flush()  # the unique index allows one active row at a time
            row = PlanVersionRow(created_at=self._clock(), source_file=source_file, checksum=checksum,
                                 text=text, applied_by=applied_by, active=True)
            session.add(row)
        return row.version

    async def active(self) -> PlanVersion | None:
        async with self._db.session() as session:
            row = await session.scalar(select(PlanVersionRow).where(PlanVersionRow.active))
        return None if row is None else _version(row)

    async def get(self, version: int) -> PlanVersion:
        async with self._db.session() as session:
            row = await session.get(PlanVersionRow, version)
        if row is None:
            raise PlanVersionNotFound(f"there is no plan version {version}")
        return _version(row)

    async def activate(self, version: int) -> PlanVersion:
        """Make a stored version the active one."""
        async with self._db.session() as session, session.begin():
            row = await session.get(PlanVersionRow, version, with_for_update=True)
            if row is None:
                raise PlanVersionNotFound(f"there is no plan version {version}")
            await _switch(session, row)
        return _version(row)

    async def rollback(self) -> PlanVersion:
        """Activate the version stored before the active one."""
        async with self._db.session() as session, session.begin():
            current = await _active_row(session)
            if current is None:
                raise NoPreviousPlan("no plan version is active yet; apply a plan first")
            previous = await session.scalar(
                select(PlanVersionRow)
                .where(PlanVersionRow.version < current.version)
                .order_by(PlanVersionRow.version.desc())
                .limit(1)
            )
            if previous is None:
                raise NoPreviousPlan(f"plan version {current.version} is the oldest; there is none to roll back to")
            await _switch(session, previous)
        return _version(previous)

    async def list(self) -> builtins.list[PlanVersion]:
        """All versions, newest first."""
        async with self._db.session() as session:
            rows = (await session.scalars(select(PlanVersionRow).order_by(PlanVersionRow.version.desc()))).all()
        return [_version(row) for row in rows]


async def _active_row(session: AsyncSession) -> PlanVersionRow | None:
    # FOR UPDATE makes concurrent applies on PostgreSQL wait for each other (SQLite ignores it).
    return await session.scalar(select(PlanVersionRow).where(PlanVersionRow.active).with_for_update())


async def _switch(session: AsyncSession, row: PlanVersionRow) -> None:
    await session.execute(
        update(PlanVersionRow)
        .where(PlanVersionRow.active, PlanVersionRow.version != row.version)
        .values(active=False)
        .execution_options(synchronize_session=False)
    )
    row.active = True


def _version(row: PlanVersionRow) -> PlanVersion:
    return PlanVersion(version=row.version, created_at=row.created_at, source_file=row.source_file,
                       checksum=row.checksum, text=row.text, applied_by=row.applied_by, active=row.active)
