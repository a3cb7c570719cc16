"""Call records: one row per call, one step per node entered, prompt played, digit pressed, ...

A call is written twice: its row when it starts (a crash leaves an unfinished record that
`open_calls()` finds at the next start), and everything else in one transaction when it ends
(`close`), which returns the finished record for the missed-call review to classify in memory.
"""
from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ivr.store.db import Database
from ivr.store.errors import CallExists, CallNotFound, InvalidRecord
from ivr.store.models import CallRow, CallStepRow

DIRECTIONS = ("inbound", "outbound")


@dataclass(frozen=True)
class CallStep:
    seq: int  # 1, 2, ... in the order the steps were added
    at: datetime
    node: str
    kind: str  # enter, prompt, digit, ring, bridge, hangup, ...
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at.isoformat(), "node": self.node, "kind": self.kind,
                "data": dict(self.data)}


@dataclass(frozen=True)
class NewStep:
    """A step as the call's journal kept it, before it has a sequence number."""
    at: datetime
    node: str
    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallRecord:
    id: int
    channel_id: str
    direction: str
    caller: str
    company_number: str
    source: str
    contact_name: str
    plan_version: int | None
    language: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    answered_by: str | None
    duration: float | None  # seconds from start to end
    steps: tuple[CallStep, ...] = ()  # empty when listed with steps=False
    caller_name: str = ""   # the display name the call came with (SIP From), cleaned

    @property
    def name(self) -> str:
        """Who the caller is, as people should see it: the contact's name, else the display name."""
        return self.contact_name or self.caller_name

    @property
    def finished(self) -> bool:
        return self.ended_at is not None

    @property
    def recording(self) -> str:
        """The call's recording (a name under the recordings directory), "" when it was not recorded."""
        return next((str(s.data["file"]) for s in reversed(self.steps) if s.kind == "recording"), "")

    def took_part(self, extension: str) -> bool:
        """The staff phone `extension` talked in this call (answered, picked up, or passed it on)."""
        if not extension:
            return False
        return self.answered_by == extension or any(
            extension in (s.data.get("member"), s.data.get("target"), s.data.get("picked_up_by"), s.data.get("by"))
            for s in self.steps if s.kind in ("answered", "transfer"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 strings with their UTC offset."""
        return {
            "id": self.id,
            "channel_id": self.channel_id,
            "direction": self.direction,
            "caller": self.caller,
            "company_number": self.company_number,
            "source": self.source,
            "contact_name": self.contact_name,
            "caller_name": self.caller_name,
            "plan_version": self.plan_version,
            "language": self.language,
            "started_at": self.started_at.isoformat(),
            "answered_at": _iso(self.answered_at),
            "ended_at": _iso(self.ended_at),
            "outcome": self.outcome,
            "answered_by": self.answered_by,
            "duration": self.duration,
            "recording": self.recording or None,
            "steps": [step.to_dict() for step in self.steps],
        }


class CallStore:
    """Writes and reads call records. Every method runs in its own short transaction."""

    def __init__(self, db: Database):
        self._db = db

    async def start(
        self,
        channel_id: str,
        caller: str,
        company_number: str,
        source: str,
        plan_version: int | None,
        started_at: datetime,
        direction: str = "inbound",
        contact_name: str = "",
        language: str = "",
        caller_name: str = "",
        named_by: Callable[[Connection], str] | None = None,
    ) -> int:
        """Store a new call; returns its id. `named_by(connection)`, run first in the same hop, gives
        the contact name instead of `contact_name`: a lookup in a hop of its own cost more (a thread's
        wake-up and a cold start) than its statement."""
        if direction not in DIRECTIONS:
            raise InvalidRecord(f"call direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
        _aware(started_at, "started_at")
        values = dict(channel_id=channel_id, direction=direction, caller=caller, company_number=company_number,
                      source=source, contact_name=contact_name, plan_version=plan_version, language=language,
                      started_at=started_at, caller_name=caller_name)

        def insert(conn: Connection) -> int:
            named = values if named_by is None else {**values, "contact_name": named_by(conn)}
            return conn.execute(_INSERT_CALL, named).inserted_primary_key[0]
        try:
            return await self._db.run(insert)
        except IntegrityError:
            raise CallExists(f"a call record for channel {channel_id} already exists",
                             {"channel_id": channel_id}) from None

    async def add_step(
        self, call_id: int, at: datetime, node: str, kind: str, data: Mapping[str, Any] | None = None
    ) -> int:
        """Append a step to the call; returns its sequence number."""
        _aware(at, "at")
        async with self._db.session() as session, session.begin():
            # The row lock on the call hands out step numbers one at a time.
            seq = await session.scalar(
                update(CallRow)
                .where(CallRow.id == call_id)
                .values(step_count=CallRow.step_count + 1)
                .returning(CallRow.step_count)
                .execution_options(synchronize_session=False)
            )
            if seq is None:
                raise CallNotFound(f"no call {call_id}")
            session.add(CallStepRow(call_id=call_id, seq=seq, at=at, node=node, kind=kind,
                                    data=dict(data or {})))
        return seq

    async def answered(self, call_id: int, at: datetime) -> None:
        """Record when a person first answered; later answers (transfers) keep the first time."""
        _aware(at, "at")
        async with self._db.session() as session, session.begin():
            row = await self._row(session, call_id)
            if row.answered_at is None:
                row.answered_at = at

    async def set_language(self, call_id: int, language: str) -> None:
        async with self._db.session() as session, session.begin():
            (await self._row(session, call_id)).language = language

    async def finish(
        self, call_id: int, ended_at: datetime, outcome: str, answered_by: str | None = None
    ) -> None:
        """Close the record with its outcome (e.g. "answered", "abandoned-in-menu", "closed-hours")."""
        _aware(ended_at, "ended_at")
        async with self._db.session() as session, session.begin():
            row = await self._row(session, call_id)
            duration = (ended_at - row.started_at).total_seconds()
            if duration < 0:
                raise InvalidRecord(
                    f"call {call_id} cannot end at {ended_at.isoformat()}, "
                    f"before it started at {row.started_at.isoformat()}"
                )
            row.ended_at = ended_at
            row.outcome = outcome
            row.duration = duration
            if answered_by is not None:
                row.answered_by = answered_by

    async def close(self, call_id: int, steps: Sequence[NewStep], ended_at: datetime, outcome: str,
                    answered_by: str | None = None, answered_at: datetime | None = None,
                    language: str = "") -> CallRecord:
        """Write the end of a call in one transaction: its steps, first answer, language and
        outcome. Returns the finished record (steps stored earlier included)."""
        _aware(ended_at, "ended_at")
        for step in steps:
            _aware(step.at, "at")
        return await self._db.run(lambda conn: _close(conn, call_id, steps, ended_at, outcome, answered_by,
                                                      answered_at, language))

    async def get(self, call_id: int) -> CallRecord:
        async with self._db.session() as session:
            row = await session.scalar(_query(True).where(CallRow.id == call_id))
        if row is None:
            raise CallNotFound(f"no call {call_id}")
        return _record(row, True)

    async def by_channel(self, channel_id: str) -> CallRecord | None:
        """The record of an ARI channel, e.g. to pick a call up again after a reconnect."""
        async with self._db.session() as session:
            row = await session.scalar(_query(True).where(CallRow.channel_id == channel_id))
        return None if row is None else _record(row, True)

    async def open_calls(self) -> list[CallRecord]:
        """Calls never finished, oldest first: after a crash these are reconciled and closed."""
        query = _query(True).where(CallRow.ended_at.is_(None)).order_by(CallRow.started_at, CallRow.id)
        async with self._db.session() as session:
            rows = (await session.scalars(query)).all()
        return [_record(row, True) for row in rows]

    async def list(
        self,
        limit: int = 50,
        since: datetime | None = None,
        outcome: str | None = None,
        company_number: str | None = None,
        *,
        steps: bool = True,
    ) -> builtins.list[CallRecord]:
        """Newest first. `since` keeps calls started at or after it."""
        if limit < 1:
            raise InvalidRecord(f"limit must be at least 1, not {limit}")
        query = _query(steps).order_by(CallRow.started_at.desc(), CallRow.id.desc()).limit(limit)
        if since is not None:
            _aware(since, "since")
            query = query.where(CallRow.started_at >= since)
        if outcome is not None:
            query = query.where(CallRow.outcome == outcome)
        if company_number is not None:
            query = query.where(CallRow.company_number == company_number)
        async with self._db.session() as session:
            rows = (await session.scalars(query)).all()
        return [_record(row, steps) for row in rows]

    async def first_calls(self, callers: Iterable[str]) -> dict[str, datetime]:
        """When each caller first called in, ever (a "new caller" of a report called first in its period)."""
        wanted = [c for c in set(callers) if c]
        query = select(CallRow.caller, func.min(CallRow.started_at)).where(
            CallRow.direction == "inbound", CallRow.caller.in_(wanted)).group_by(CallRow.caller)
        async with self._db.session() as session:
            rows = (await session.execute(query)).all() if wanted else []
        return dict(rows)           # min() keeps the column's type: aware UTC times

    async def count_by_outcome(self) -> dict[str | None, int]:
        """Every call in the log by outcome (None: not finished yet)."""
        async with self._db.session() as session:
            return dict((await session.execute(select(CallRow.outcome, func.count()).group_by(CallRow.outcome))).all())

    @staticmethod
    async def _row(session: AsyncSession, call_id: int) -> CallRow:
        row = await session.get(CallRow, call_id, with_for_update=True)
        if row is None:
            raise CallNotFound(f"no call {call_id}")
        return row


_CALLS, _STEPS = CallRow.__table__, CallStepRow.__table__
# Built once: SQLAlchemy keeps their compiled form, so a call's statements cost no SQL building.
_INSERT_CALL = insert(_CALLS)
_CALL_FOR_CLOSE = select(_CALLS).where(_CALLS.c.id == bindparam("id")).with_for_update()
_STEPS_OF_CALL = select(_STEPS).where(_STEPS.c.call_id == bindparam("id")).order_by(_STEPS.c.seq)
_INSERT_STEP = insert(_STEPS)
_UPDATE_CALL = update(_CALLS).where(_CALLS.c.id == bindparam("call_id"))


def _close(conn: Connection, call_id: int, steps: Sequence[NewStep], ended_at: datetime, outcome: str,
           answered_by: str | None, answered_at: datetime | None, language: str) -> CallRecord:
    """CallStore.close's transaction: the row (locked), its steps, its end; the finished record."""
    row = conn.execute(_CALL_FOR_CLOSE, {"id": call_id}).one_or_none()
    if row is None:
        raise CallNotFound(f"no call {call_id}")
    duration = (ended_at - row.started_at).total_seconds()
    if duration < 0:
        raise InvalidRecord(
            f"call {call_id} cannot end at {ended_at.isoformat()}, "
            f"before it started at {row.started_at.isoformat()}"
        )
    earlier: tuple[CallStep, ...] = ()
    if row.step_count:              # picked up after a restart, or steps added one by one
        earlier = tuple(_step(s) for s in conn.execute(_STEPS_OF_CALL, {"id": call_id}))
    first = row.step_count + 1
    new = tuple(CallStep(seq=first + i, at=s.at, node=s.node, kind=s.kind, data=dict(s.data))
                for i, s in enumerate(steps))
    if new:
        conn.execute(_INSERT_STEP, [{"call_id": call_id, "seq": s.seq, "at": s.at, "node": s.node,
                                     "kind": s.kind, "data": s.data} for s in new])
    changed = {"step_count": row.step_count + len(new), "ended_at": ended_at, "outcome": outcome,
               "duration": duration,
               "answered_at": row.answered_at if row.answered_at is not None else answered_at,  # the first answer
               "language": language or row.language,
               "answered_by": answered_by if answered_by is not None else row.answered_by}
    conn.execute(_UPDATE_CALL, {"call_id": call_id, **changed})
    del changed["step_count"]
    return replace(_record(row, False), **changed, steps=earlier + new)


def _query(steps: bool) -> Select[CallRow]:
    query = select(CallRow)
    return query.options(selectinload(CallRow.steps)) if steps else query


def _record(row: Any, steps: bool) -> CallRecord:
    """A record from the ORM row or a Core row of `calls` (same names)."""
    return CallRecord(
        id=row.id, channel_id=row.channel_id, direction=row.direction, caller=row.caller,
        company_number=row.company_number, source=row.source, contact_name=row.contact_name,
        plan_version=row.plan_version, language=row.language, started_at=row.started_at,
        answered_at=row.answered_at, ended_at=row.ended_at, outcome=row.outcome,
        answered_by=row.answered_by, duration=row.duration, caller_name=row.caller_name,
        steps=tuple(_step(s) for s in row.steps) if steps else (),
    )


def _step(row: Any) -> CallStep:
    return CallStep(seq=row.seq, at=row.at, node=row.node, kind=row.kind, data=dict(row.data))


def _aware(value: datetime, name: str) -> None:
    # A naive time means different instants on different machines; the columns store UTC.
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRecord(f"{name} {value.isoformat()} has no UTC offset; give an aware datetime")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
