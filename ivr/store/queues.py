"""Queues in the database: agent login/pause, call-back requests, and one entry per caller who
waited (the statistics are computed from those, so they survive a restart and the CLI can read
them without the service)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ivr.store.db import Database
from ivr.store.models import QueueAgentRow, QueueCallbackRow, QueueEntryRow

CALLBACK_OPEN = ("waiting", "calling")


@dataclass(frozen=True)
class AgentRecord:
    extension: str
    logged_in: bool
    paused: bool
    reason: str
    updated_at: datetime


@dataclass(frozen=True)
class CallbackRecord:
    id: int
    queue: str
    number: str
    call_id: int | None
    vip: bool
    joined_at: datetime
    requested_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_result: str
    agent: str


@dataclass(frozen=True)
class QueueEntry:
    queue: str
    joined_at: datetime
    outcome: str          # answered, abandoned, timeout, full, no_agents, left, callback, ...
    wait_seconds: float
    agent: str = ""
    talk_seconds: float = 0.0
    caller: str = ""
    vip: bool = False
    call_id: int | None = None
    service_level_seconds: float = 20.0


class QueueStore:
    def __init__(self, db: Database):
        self._db = db

    # ----- agents -----

    async def agents(self) -> dict[str, AgentRecord]:
        async with self._db.session() as session:
            rows = (await session.scalars(select(QueueAgentRow))).all()
        return {r.extension: _agent(r) for r in rows}

    async def set_agent(self, extension: str, at: datetime, *, logged_in: bool | None = None,
                        paused: bool | None = None, reason: str | None = None) -> AgentRecord:
        async with self._db.session() as session, session.begin():
            row = await session.get(QueueAgentRow, extension)
            if row is None:
                row = QueueAgentRow(extension=extension, logged_in=True, paused=False, reason="", updated_at=at)
                session.add(row)
            if logged_in is not None:
                row.logged_in = logged_in
                if not logged_in:
                    row.paused = False    # a fresh login starts unpaused
            if paused is not None:
                row.paused = paused
            if reason is not None:
                row.reason = reason
            row.updated_at = at
            await session.flush()
            return _agent(row)

    # ----- call-backs -----

    async def add_callback(self, queue: str, number: str, call_id: int | None, vip: bool,
                           joined_at: datetime, requested_at: datetime) -> int:
        row = QueueCallbackRow(queue=queue, number=number, call_id=call_id, vip=vip, joined_at=joined_at,
                               requested_at=requested_at, status="waiting", attempts=0, last_result="",
                               agent="")
        async with self._db.session() as session, session.begin():
            session.add(row)
            await session.flush()
            return row.id

    async def open_callbacks(self) -> list[CallbackRecord]:
        query = select(QueueCallbackRow).where(QueueCallbackRow.status.in_(CALLBACK_OPEN)) \
            .order_by(QueueCallbackRow.joined_at)
        async with self._db.session() as session:
            return [_callback(r) for r in (await session.scalars(query)).all()]

    async def callbacks(self, limit: int = 50) -> list[CallbackRecord]:
        query = select(QueueCallbackRow).order_by(QueueCallbackRow.id.desc()).limit(limit)
        async with self._db.session() as session:
            return [_callback(r) for r in (await session.scalars(query)).all()]

    async def update_callback(self, callback_id: int, *, status: str, at: datetime, result: str = "",
                              agent: str = "", attempts: int | None = None,
                              next_attempt_at: datetime | None = None) -> None:
        async with self._db.session() as session, session.begin():
            row = await session.get(QueueCallbackRow, callback_id)
            if row is None:
                return
            row.status = status
            if result:
                row.last_result = result
            if agent:
                row.agent = agent
            if attempts is not None:
                row.attempts = attempts
            row.next_attempt_at = next_attempt_at
            if status in ("done", "failed", "cancelled"):
                row.done_at = at

    # ----- entries (statistics) -----

    async def add_entry(self, entry: QueueEntry) -> None:
        async with self._db.session() as session, session.begin():
            session.add(QueueEntryRow(
                queue=entry.queue, call_id=entry.call_id, caller=entry.caller, vip=entry.vip,
                joined_at=entry.joined_at, outcome=entry.outcome, wait_seconds=entry.wait_seconds,
                agent=entry.agent, talk_seconds=entry.talk_seconds,
                service_level_seconds=entry.service_level_seconds))

    async def entries(self, since: datetime, queue: str | None = None) -> list[QueueEntry]:
        query = select(QueueEntryRow).where(QueueEntryRow.joined_at >= since).order_by(QueueEntryRow.id)
        if queue is not None:
            query = query.where(QueueEntryRow.queue == queue)
        async with self._db.session() as session:
            rows = (await session.scalars(query)).all()
        return [QueueEntry(queue=r.queue, joined_at=r.joined_at, outcome=r.outcome, wait_seconds=r.wait_seconds,
                           agent=r.agent, talk_seconds=r.talk_seconds, caller=r.caller, vip=r.vip,
                           call_id=r.call_id, service_level_seconds=r.service_level_seconds) for r in rows]


def _agent(r: QueueAgentRow) -> AgentRecord:
    return AgentRecord(r.extension, r.logged_in, r.paused, r.reason, r.updated_at)


def _callback(r: QueueCallbackRow) -> CallbackRecord:
    return CallbackRecord(id=r.id, queue=r.queue, number=r.number, call_id=r.call_id, vip=r.vip,
                          joined_at=r.joined_at, requested_at=r.requested_at, status=r.status,
                          attempts=r.attempts, next_attempt_at=r.next_attempt_at, last_result=r.last_result,
                          agent=r.agent)
