"""The missed-call list in the database: items, their history, and which calls were reviewed.

Every change runs in one transaction together with `on_change`, which the service uses to queue the
notifications of that change in the same transaction (the outbox): the item and its notifications
exist together or not at all.
"""
from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ivr.missed.errors import MissedConflict, MissedItemNotFound
from ivr.plan.reasons import MISSED_OUTCOMES
from ivr.store.db import Database
from ivr.store.models import ActiveCallbackRow, CallReviewRow, CallRow, MissedEventRow, MissedItemRow

STATUSES = ("open", "taken", "closed")
PENDING = ("open", "taken")
# The automatic call-back gave up on an item's latest missed call (its attempts are spent).
AUTO_STOPPED = "auto_callback_stopped"


@dataclass(frozen=True)
class MissedEvent:
    at: datetime
    kind: str            # missed, taken, released, callback, closed
    by: str = ""
    call_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind, "by": self.by, "call_id": self.call_id,
                "data": dict(self.data)}


@dataclass(frozen=True)
class MissedCall:
    """One finished inbound call that reached nobody, as the list records it."""

    call_id: int
    customer: str
    company_number: str
    source: str
    contact_name: str
    at: datetime                # when the call started
    reason: str
    node: str                   # where in the plan it ended
    short: bool
    voicemail: str = ""         # path of the kept WAV, "" if none
    rung: tuple[str, ...] = ()  # staff extensions whose phones rang
    steps: tuple[str, ...] = ()  # the kinds of the call's steps, in order (the mail tells the path)


@dataclass(frozen=True)
class CallState:
    """How far one call-back's call record got (the automatic call-back counts attempts by it)."""
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None


@dataclass(frozen=True)
class MissedItem:
    id: int
    customer: str
    company_number: str
    source: str
    contact_name: str
    status: str
    count: int
    short: bool
    reason: str
    node: str
    first_at: datetime
    last_at: datetime
    voicemail: str
    taken_by: str
    taken_at: datetime | None
    closed_by: str
    closed_at: datetime | None
    close_reason: str
    callback_seconds: float | None
    events: tuple[MissedEvent, ...] = ()

    @property
    def calls(self) -> tuple[int, ...]:
        return tuple(e.call_id for e in self.events if e.kind == "missed" and e.call_id is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "customer": self.customer, "company_number": self.company_number,
            "source": self.source, "contact_name": self.contact_name, "status": self.status,
            "count": self.count, "short": self.short, "reason": self.reason, "node": self.node,
            "first_at": self.first_at.isoformat(), "last_at": self.last_at.isoformat(),
            "voicemail": self.voicemail, "taken_by": self.taken_by, "taken_at": _iso(self.taken_at),
            "closed_by": self.closed_by, "closed_at": _iso(self.closed_at), "close_reason": self.close_reason,
            "callback_seconds": self.callback_seconds, "calls": list(self.calls),
            "events": [e.to_dict() for e in self.events],
        }


# What the service does inside the change's transaction: event is missed / taken / released / closed.
OnChange = Callable[[AsyncSession, MissedItem, str, MissedCall | None], Awaitable[None]]


# Outcomes of an inbound call whose review does something (a missed item, or items closed).
MATTERS = sorted(MISSED_OUTCOMES | {"answered"})


class MissedStore:
    def __init__(self, db: Database):
        self._db = db

    # ----- reviewing finished calls -----

    async def unreviewed(self, limit: int = 500) -> list[int]:
        """Finished calls the list has not looked at yet, oldest first (after a crash). An inbound
        call neither answered nor missed is not one: its review changes nothing, so it gets no mark."""
        review = aliased(CallReviewRow)
        query = (select(CallRow.id).outerjoin(review, review.call_id == CallRow.id)
                 .where(CallRow.ended_at.is_not(None), review.call_id.is_(None),
                        or_(CallRow.direction == "outbound", CallRow.outcome.in_(MATTERS)))
                 .order_by(CallRow.ended_at, CallRow.id).limit(limit))
        async with self._db.session() as session:
            return list((await session.scalars(query)).all())

    async def mark_reviewed(self, call_id: int, verdict: str, now: datetime) -> bool:
        async with self._db.session() as session, session.begin():
            return await self._review(session, call_id, verdict, now, None)

    async def add_missed(self, miss: MissedCall, now: datetime, on_change: OnChange) -> MissedItem | None:
        """Open an item for the customer and company number, or add the call to the one pending.
        None when the call was reviewed already (a replay after a restart)."""
        for attempt in range(2):
            try:
                async with self._db.session() as session, session.begin():
                    if await session.get(CallReviewRow, miss.call_id) is not None:
                        return None
                    row = await session.scalar(
                        select(MissedItemRow).where(MissedItemRow.customer == miss.customer,
                                                    MissedItemRow.company_number == miss.company_number,
                                                    MissedItemRow.status.in_(PENDING))
                        .with_for_update())
                    if row is None:
                        row = MissedItemRow(customer=miss.customer, company_number=miss.company_number,
                                            source=miss.source, contact_name=miss.contact_name, status="open",
                                            count=0, short=True, reason=miss.reason, node=miss.node,
                                            first_at=miss.at, last_at=miss.at, voicemail="", taken_by="",
                                            closed_by="", close_reason="")
                        session.add(row)
                    row.count += 1
                    row.short = row.short and miss.short
                    if miss.at >= row.last_at:
                        row.last_at, row.reason, row.node = miss.at, miss.reason, miss.node
                    row.first_at = min(row.first_at, miss.at)
                    row.contact_name = miss.contact_name or row.contact_name
                    row.voicemail = miss.voicemail or row.voicemail
                    await session.flush()
                    session.add(MissedEventRow(item_id=row.id, at=miss.at, kind="missed", by="",
                                               call_id=miss.call_id,
                                               data={"reason": miss.reason, "node": miss.node,
                                                     "short": miss.short, "voicemail": miss.voicemail}))
                    await self._review(session, miss.call_id, "missed", now, row.id)
                    item = await self._item(session, row)
                    await on_change(session, item, "missed", miss)
                return item
            except IntegrityError:
                # Two writers opened the same item at once (PostgreSQL): the second joins the first.
                if attempt:
                    raise
        return None

    async def customer_reached(self, call_id: int, customer: str, reason: str, by: str, now: datetime,
                               on_change: OnChange) -> list[MissedItem]:
        """The customer talked to a person: close every pending item of that number."""
        async with self._db.session() as session, session.begin():
            if await session.get(CallReviewRow, call_id) is not None:
                return []
            rows = (await session.scalars(select(MissedItemRow).where(
                MissedItemRow.customer == customer, MissedItemRow.status.in_(PENDING))
                .order_by(MissedItemRow.id).with_for_update())).all()
            items = []
            for row in rows:
                self._close(session, row, by, reason, now, call_id)
                await session.flush()
                item = await self._item(session, row)
                await on_change(session, item, "closed", None)
                items.append(item)
            await self._review(session, call_id, "reached" if rows else "not_missed", now,
                               rows[0].id if rows else None)
        return items

    async def attempt(self, call_id: int, customer: str, result: str, by: str, at: datetime,
                      now: datetime) -> list[int]:
        """A call to the customer that did not reach them (busy, no answer, too short): logged on
        each pending item, which stays open."""
        async with self._db.session() as session, session.begin():
            if await session.get(CallReviewRow, call_id) is not None:
                return []
            ids = list((await session.scalars(select(MissedItemRow.id).where(
                MissedItemRow.customer == customer, MissedItemRow.status.in_(PENDING)))).all())
            for item_id in ids:
                session.add(MissedEventRow(item_id=item_id, at=at, kind="callback", by=by, call_id=call_id,
                                           data={"result": result}))
            await self._review(session, call_id, "attempt", now, ids[0] if ids else None)
        return ids

    # ----- one call-back per customer at a time (across processes) -----

    async def claim_callback(self, customer: str, staff: str, now: datetime) -> None:
        """Mark a call-back to `customer` as running; MissedConflict when one is (in any process).
        A claim left by a crash is taken over: its call ended, or it never got a call in time."""
        try:
            async with self._db.session() as session, session.begin():
                row = await session.get(ActiveCallbackRow, customer, with_for_update=True)
                if row is not None:
                    if not await _stale_claim(session, row, now):
                        raise MissedConflict(f"a call-back to {customer} is already running",
                                             {"staff": row.staff, "call_id": row.call_id})
                    await session.delete(row)
                    await session.flush()
                session.add(ActiveCallbackRow(customer=customer, call_id=None, staff=staff, started_at=now))
        except IntegrityError:      # another process claimed it between our read and our insert
            raise MissedConflict(f"a call-back to {customer} is already running") from None

    async def callback_call(self, customer: str, call_id: int) -> None:
        """The claim's call record exists now: its end makes a crashed claim stale."""
        async with self._db.session() as session, session.begin():
            row = await session.get(ActiveCallbackRow, customer)
            if row is not None:
                row.call_id = call_id

    async def release_callback(self, customer: str) -> None:
        async with self._db.session() as session, session.begin():
            row = await session.get(ActiveCallbackRow, customer)
            if row is not None:
                await session.delete(row)

    # ----- staff actions -----

    async def take(self, item_id: int, by: str, now: datetime, on_change: OnChange) -> MissedItem:
        async with self._db.session() as session, session.begin():
            row = await self._row(session, item_id)
            if row.status == "closed":
                raise MissedConflict(f"missed call {item_id} is closed already")
            if row.status == "taken" and row.taken_by != by:
                raise MissedConflict(f"missed call {item_id} is taken by {row.taken_by}",
                                     {"taken_by": row.taken_by})
            if row.status == "taken":
                return await self._item(session, row)
            row.status, row.taken_by, row.taken_at = "taken", by, now
            session.add(MissedEventRow(item_id=row.id, at=now, kind="taken", by=by, data={}))
            await session.flush()
            item = await self._item(session, row)
            await on_change(session, item, "taken", None)
        return item

    async def release(self, item_id: int, by: str, now: datetime) -> MissedItem:
        async with self._db.session() as session, session.begin():
            row = await self._row(session, item_id)
            if row.status != "taken":
                raise MissedConflict(f"missed call {item_id} is not taken")
            row.status, row.taken_by, row.taken_at = "open", "", None
            session.add(MissedEventRow(item_id=row.id, at=now, kind="released", by=by, data={}))
            await session.flush()
            return await self._item(session, row)

    async def close(self, item_id: int, by: str, reason: str, now: datetime, on_change: OnChange) -> MissedItem:
        async with self._db.session() as session, session.begin():
            row = await self._row(session, item_id)
            if row.status == "closed":
                raise MissedConflict(f"missed call {item_id} is closed already ({row.close_reason})")
            self._close(session, row, by, reason, now, None)
            await session.flush()
            item = await self._item(session, row)
            await on_change(session, item, "closed", None)
        return item

    async def log(self, item_id: int, kind: str, by: str, at: datetime, **data: Any) -> None:
        async with self._db.session() as session, session.begin():
            await self._row(session, item_id)
            session.add(MissedEventRow(item_id=item_id, at=at, kind=kind, by=by, data=data))

    # ----- reading -----

    async def get(self, item_id: int) -> MissedItem:
        async with self._db.session() as session:
            row = await session.get(MissedItemRow, item_id)
            if row is None:
                raise MissedItemNotFound(f"no missed call {item_id}")
            return await self._item(session, row)

    async def list(self, status: str | None = None, company_number: str | None = None,
                   customer: str | None = None, include_short: bool = True, since: datetime | None = None,
                   limit: int = 100) -> builtins.list[MissedItem]:
        """Newest first. `status`: open, taken, closed, or "pending" (open or taken)."""
        query = select(MissedItemRow).order_by(MissedItemRow.last_at.desc(), MissedItemRow.id.desc()).limit(limit)
        if status == "pending":
            query = query.where(MissedItemRow.status.in_(PENDING))
        elif status is not None:
            query = query.where(MissedItemRow.status == status)
        if company_number:
            query = query.where(MissedItemRow.company_number == company_number)
        if customer:
            query = query.where(MissedItemRow.customer == customer)
        if not include_short:
            query = query.where(MissedItemRow.short.is_(False))
        if since is not None:
            query = query.where(MissedItemRow.last_at >= since)
        async with self._db.session() as session:
            rows = (await session.scalars(query)).all()
            return [await self._item(session, row, events=True) for row in rows]

    async def auto_candidates(self, reasons: Collection[str], numbers: Collection[str] | None = None,
                              include_short: bool = True, limit: int = 200) -> builtins.list[MissedItem]:
        """Open (not taken) items the automatic call-back may consider, oldest first: of these
        reasons (and company numbers, None: any), and not given up on since the latest missed call."""
        stopped = exists().where(MissedEventRow.item_id == MissedItemRow.id, MissedEventRow.kind == AUTO_STOPPED,
                                 MissedEventRow.at >= MissedItemRow.last_at)
        query = (select(MissedItemRow).where(MissedItemRow.status == "open", MissedItemRow.reason.in_(list(reasons)),
                                             ~stopped)
                 .order_by(MissedItemRow.first_at, MissedItemRow.id).limit(limit))
        if numbers is not None:
            query = query.where(MissedItemRow.company_number.in_(list(numbers)))
        if not include_short:
            query = query.where(MissedItemRow.short.is_(False))
        async with self._db.session() as session:
            rows = (await session.scalars(query)).all()
            return [await self._item(session, row, events=True) for row in rows]

    async def call_states(self, call_ids: Collection[int]) -> dict[int, CallState]:
        if not call_ids:
            return {}
        query = select(CallRow.id, CallRow.started_at, CallRow.ended_at, CallRow.outcome).where(
            CallRow.id.in_(list(call_ids)))
        async with self._db.session() as session:
            return {row.id: CallState(row.started_at, row.ended_at, row.outcome)
                    for row in (await session.execute(query)).all()}

    async def count_open(self) -> int:
        """Items not closed yet (open or taken)."""
        async with self._db.session() as session:
            return await session.scalar(select(func.count()).select_from(MissedItemRow)
                                        .where(MissedItemRow.status != "closed")) or 0

    async def between(self, since: datetime, until: datetime) -> builtins.list[MissedItem]:
        """Items first missed in [since, until), for the call-back report."""
        query = (select(MissedItemRow).where(MissedItemRow.first_at >= since, MissedItemRow.first_at < until)
                 .order_by(MissedItemRow.first_at))
        async with self._db.session() as session:
            rows = (await session.scalars(query)).all()
            return [await self._item(session, row, events=False) for row in rows]

    # ----- helpers -----

    @staticmethod
    def _close(session: AsyncSession, row: MissedItemRow, by: str, reason: str, now: datetime,
               call_id: int | None) -> None:
        row.status, row.closed_by, row.closed_at, row.close_reason = "closed", by, now, reason
        row.callback_seconds = max(0.0, (now - row.first_at).total_seconds())
        session.add(MissedEventRow(item_id=row.id, at=now, kind="closed", by=by, call_id=call_id,
                                   data={"reason": reason}))

    @staticmethod
    async def _review(session: AsyncSession, call_id: int, verdict: str, now: datetime,
                      item_id: int | None) -> bool:
        if await session.get(CallReviewRow, call_id) is not None:
            return False
        session.add(CallReviewRow(call_id=call_id, reviewed_at=now, verdict=verdict, item_id=item_id))
        return True

    @staticmethod
    async def _row(session: AsyncSession, item_id: int) -> MissedItemRow:
        row = await session.get(MissedItemRow, item_id, with_for_update=True)
        if row is None:
            raise MissedItemNotFound(f"no missed call {item_id}")
        return row

    @staticmethod
    async def _item(session: AsyncSession, row: MissedItemRow, events: bool = True) -> MissedItem:
        found: tuple[MissedEvent, ...] = ()
        if events:
            rows = (await session.scalars(select(MissedEventRow).where(MissedEventRow.item_id == row.id)
                                          .order_by(MissedEventRow.at, MissedEventRow.id))).all()
            found = tuple(MissedEvent(at=e.at, kind=e.kind, by=e.by, call_id=e.call_id, data=dict(e.data))
                          for e in rows)
        return MissedItem(
            id=row.id, customer=row.customer, company_number=row.company_number, source=row.source,
            contact_name=row.contact_name, status=row.status, count=row.count, short=row.short,
            reason=row.reason, node=row.node, first_at=row.first_at, last_at=row.last_at,
            voicemail=row.voicemail, taken_by=row.taken_by, taken_at=row.taken_at, closed_by=row.closed_by,
            closed_at=row.closed_at, close_reason=row.close_reason, callback_seconds=row.callback_seconds,
            events=found)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


# A claim without its call record after this long was left by a crash between the two writes.
CLAIM_WITHOUT_CALL = timedelta(seconds=60)


async def _stale_claim(session: AsyncSession, row: ActiveCallbackRow, now: datetime) -> bool:
    if row.call_id is None:
        return now - row.started_at > CLAIM_WITHOUT_CALL
    call = await session.get(CallRow, row.call_id)
    return call is None or call.ended_at is not None
