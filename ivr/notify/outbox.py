"""The durable outbox: notifications are rows written in the transaction of the change they report,
and a worker delivers them. A crash or an unreachable server delays a notification; the row stays
until it was delivered, and it is marked sent only after delivery, so it goes out once.

(One gap remains by nature: a crash after the server accepted a mail and before the row is marked
sent repeats that mail. Mails carry the idempotency key as Message-ID, webhooks as a header, so the
receiver can tell.)
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ivr.errors import IvrError
from ivr.store.db import Database
from ivr.store.models import OutboxRow

log = logging.getLogger(__name__)

CHANNELS = ("mail", "digest", "webhook")
# At a stop, a message being handed over is given this long to be taken and marked sent.
STOP_GRACE_SECONDS = 10.0


class DeliveryFailed(IvrError):
    """A notification could not be delivered this time; the worker retries it later."""

    status_code = 502
    error_id = "delivery-failed"


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    key: str
    channel: str
    target: str
    payload: dict[str, Any]
    created_at: datetime
    due_at: datetime
    attempts: int
    last_error: str
    sent_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "channel": self.channel, "target": self.target,
                "created_at": self.created_at.isoformat(), "due_at": self.due_at.isoformat(),
                "attempts": self.attempts, "last_error": self.last_error,
                "sent_at": self.sent_at.isoformat() if self.sent_at else None}


async def enqueue(session: AsyncSession, key: str, channel: str, target: str, payload: dict[str, Any],
                  now: datetime, due_at: datetime | None = None) -> bool:
    """Add a message inside the caller's transaction; a key already queued is kept as it is
    (returns False), so replaying a change never doubles its notifications."""
    return await session.run_sync(enqueue_in, key, channel, target, payload, now, due_at)


def enqueue_in(session: Session, key: str, channel: str, target: str, payload: dict[str, Any],
               now: datetime, due_at: datetime | None = None) -> bool:
    """`enqueue` for a synchronous session (a transaction run by `Database.run`)."""
    if channel not in CHANNELS:
        raise ValueError(f"outbox channel {channel!r}")
    if session.scalar(select(OutboxRow.id).where(OutboxRow.key == key)) is not None:
        return False
    session.add(OutboxRow(key=key, channel=channel, target=target, payload=payload, created_at=now,
                          due_at=due_at or now, attempts=0, last_error=""))
    return True


class Outbox:
    def __init__(self, db: Database):
        self._db = db

    async def due(self, now: datetime, limit: int = 50) -> list[OutboxMessage]:
        """The worker asks every `poll` seconds, calls or not: one prebuilt statement in one hop
        (Database.run), not an ORM session on aiosqlite."""
        return await self._db.run(lambda conn: [_message(r) for r in conn.execute(_DUE, {"now": now, "limit": limit})])

    async def pending_digest(self, target: str, now: datetime) -> list[OutboxMessage]:
        query = (select(OutboxRow).where(OutboxRow.sent_at.is_(None), OutboxRow.channel == "digest",
                                         OutboxRow.target == target, OutboxRow.due_at <= now)
                 .order_by(OutboxRow.id))
        async with self._db.session() as session:
            return [_message(r) for r in (await session.scalars(query)).all()]

    async def mark_sent(self, ids: list[int], now: datetime) -> None:
        async with self._db.session() as session, session.begin():
            for row in (await session.scalars(select(OutboxRow).where(OutboxRow.id.in_(ids)))).all():
                row.sent_at = now
                row.attempts += 1

    async def mark_failed(self, ids: list[int], error: str, retry_at: datetime) -> int:
        """Count a failed attempt; returns the attempts so far."""
        attempts = 0
        async with self._db.session() as session, session.begin():
            for row in (await session.scalars(select(OutboxRow).where(OutboxRow.id.in_(ids)))).all():
                row.attempts += 1
                row.last_error = error[:2000]
                row.due_at = retry_at
                attempts = max(attempts, row.attempts)
        return attempts

    async def list(self, pending: bool = False, limit: int = 100) -> list[OutboxMessage]:
        query = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)
        if pending:
            query = query.where(OutboxRow.sent_at.is_(None))
        async with self._db.session() as session:
            return [_message(r) for r in (await session.scalars(query)).all()]


def backoff(attempts: int, cap: float) -> float:
    """Seconds before the next try after `attempts` failures: 1, 2, 4, ... up to `cap`."""
    return float(min(cap, 2 ** max(0, attempts - 1)))


Deliver = Callable[[list[OutboxMessage]], Awaitable[None]]


@dataclass
class OutboxWorker:
    """Delivers due messages; `kick()` after an enqueue wakes it at once, otherwise it looks every
    `poll` seconds (rows written by other processes: the CLI's take and close)."""

    outbox: Outbox
    deliverers: dict[str, Deliver]          # channel -> delivers one message (a digest: several)
    now: Callable[[], datetime]
    retry_max_seconds: float = 300.0
    poll: float = 2.0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def kick(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except IvrError as e:          # the database is away: try again after the pause
                log.error("outbox pass failed error=%s", e.message)
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def run_once(self) -> int:
        """One pass over the due messages; returns how many were delivered."""
        delivered = 0
        done: set[int] = set()
        for message in await self.outbox.due(self.now()):
            if message.id in done:
                continue
            batch = [message]
            if message.channel == "digest":
                batch = await self.outbox.pending_digest(message.target, self.now()) or [message]
            done.update(m.id for m in batch)
            sending = asyncio.ensure_future(self._deliver(message, batch))
            try:
                delivered += await asyncio.shield(sending)
            except asyncio.CancelledError:
                # Stopping: a message the mail server has taken is marked sent before the service
                # goes, or the next start would send it again.
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(sending, STOP_GRACE_SECONDS)
                raise
        return delivered

    async def _deliver(self, message: OutboxMessage, batch: list[OutboxMessage]) -> int:
        ids = [m.id for m in batch]
        try:
            deliver = self.deliverers.get(message.channel)
            if deliver is None:
                raise DeliveryFailed(f"no {message.channel} delivery is configured")
            await deliver(batch)
        except (DeliveryFailed, OSError, asyncio.TimeoutError) as e:
            text = getattr(e, "message", "") or f"{type(e).__name__}: {e}"
            attempts = message.attempts + 1
            retry_at = self.now() + timedelta(seconds=backoff(attempts, self.retry_max_seconds))
            await self.outbox.mark_failed(ids, text, retry_at)
            log.warning("notification not delivered key=%s channel=%s attempt=%d retry_at=%s error=%s",
                        message.key, message.channel, attempts, retry_at.isoformat(), text)
            return 0
        await self.outbox.mark_sent(ids, self.now())
        log.info("notification delivered key=%s channel=%s target=%s count=%d", message.key,
                 message.channel, message.target, len(batch))
        return len(batch)


_DUE = (select(OutboxRow.__table__).where(OutboxRow.sent_at.is_(None), OutboxRow.due_at <= bindparam("now"))
        .order_by(OutboxRow.due_at, OutboxRow.id).limit(bindparam("limit")))


def _message(row: OutboxRow) -> OutboxMessage:
    return OutboxMessage(id=row.id, key=row.key, channel=row.channel, target=row.target,
                         payload=dict(row.payload), created_at=row.created_at, due_at=row.due_at,
                         attempts=row.attempts, last_error=row.last_error, sent_at=row.sent_at)
