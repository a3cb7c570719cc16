"""Campaigns, their rows and attempts in the database; row claiming that two dialers share safely.

Claiming: PostgreSQL picks due rows with SELECT ... FOR UPDATE SKIP LOCKED; SQLite (one writer at a
time) marks them with UPDATE ... WHERE status = 'ready' and a fresh claim token. Either way the UPDATE
returns the rows it took (RETURNING). Rows whose trunk is full are handed back within the
transaction, untouched. The attempt rows (with the channel ids we chose) are inserted in the same
transaction, so an attempt exists in the database before anything is dialled.

Do-not-call: the pick never takes a row whose number is on the list. Rows are settled ("done",
result do_not_call) when the number is added, when they are imported, when an attempt would put
them back in line, and, for any a race left, when the campaign has nothing else left.
"""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import TypeVar

from sqlalchemy import Connection, Select, and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ivr.campaigns import attempt_writes as writes
from ivr.campaigns.model import Attempt, Campaign, CampaignError, CampaignNotFound, Passenger, Row
from ivr.campaigns.rows import Decide, attempt_of, campaign_of, row_of
from ivr.campaigns.scheduler import Decision
from ivr.store.db import Database
from ivr.errors import InvalidInput
from ivr.store.models import (CampaignAttemptRow, CampaignEntryRow, CampaignMarkRow, CampaignRecordRow,
                              DoNotCallRow)

# Allowed status changes: command -> (states it applies to, new state).
TRANSITIONS = {"start": (("draft", "paused"), "running"), "pause": (("running",), "paused"),
               "resume": (("paused",), "running"), "cancel": (("draft", "running", "paused"), "cancelled")}

# What a person may mark a row with (`ivr campaign done --answer`), as the row's result.
MARK_ANSWERS = {"confirmed": "confirm", "confirm": "confirm", "cancelled": "cancel", "cancel": "cancel",
                "understood": "understood"}
# Rows one claim looks at, at most, while passing over rows whose trunk is full.
SCAN_ROWS = 500
# Rows of one INSERT of add_rows: bounded memory, and keys looked up below the backends' limits
# on bound parameters.
INSERT_CHUNK = 5000
ChannelIdFor = Callable[[Row], str]
T = TypeVar("T")
ON_DNC_LIST = exists().where(DoNotCallRow.number == CampaignEntryRow.phone)


@dataclass(frozen=True)
class Mark:
    """A row settled by a person rather than by a call."""

    row_id: int
    answer: str
    by: str
    at: datetime
    in_flight: bool              # an attempt was being dialled at the time (it decided nothing)

    def to_dict(self) -> dict:
        return {"row_id": self.row_id, "answer": self.answer, "by": self.by, "at": self.at.isoformat(),
                "in_flight": self.in_flight}


def mark_answer(word: str) -> str:
    """"confirmed" (or "confirm"), "cancelled", "understood" -> the row's result."""
    result = MARK_ANSWERS.get(word.strip().lower())
    if result is None:
        raise InvalidInput(f"'{word}' is not an answer to mark a row with (confirmed, cancelled, understood)")
    return result


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


_ALL_CAMPAIGNS = select(CampaignRecordRow.__table__).order_by(CampaignRecordRow.id)
_CAMPAIGNS_IN = _ALL_CAMPAIGNS.where(CampaignRecordRow.status == bindparam("status"))

# Asked by every inbound call to a number campaigns present: built once (Database.run says why),
# and only the row's id, so a caller who is no passenger costs no ORM loading.
_CALLBACK_ROW = select(CampaignEntryRow.id).join(
    CampaignRecordRow, CampaignRecordRow.id == CampaignEntryRow.campaign_id).where(
    CampaignEntryRow.phone == bindparam("phone"), CampaignRecordRow.status != "cancelled",
    CampaignEntryRow.status != "cancelled",
    or_(CampaignEntryRow.departure.is_(None), CampaignEntryRow.departure > bindparam("now"))) \
    .order_by(CampaignEntryRow.departure.is_(None), CampaignEntryRow.departure,
              CampaignEntryRow.id.desc()).limit(1)


def _callback_row(conn: Connection, phone: str, now: datetime) -> tuple[Row, Campaign] | None:
    row_id = conn.execute(_CALLBACK_ROW, {"phone": phone, "now": now}).scalar()
    if row_id is None:
        return None
    with Session(bind=conn) as s:
        entry = s.get_one(CampaignEntryRow, row_id)
        return row_of(entry), campaign_of(s.get_one(CampaignRecordRow, entry.campaign_id))


class CampaignStore:
    def __init__(self, db: Database):
        self.db = db
        # campaign id -> (call time, id) of the last row a claim looked at when it stopped at its
        # scan limit: the next claim goes on from there.
        self._cursors: dict[int, tuple[datetime, int]] = {}

    # ----- campaigns -----

    async def create(self, name: str, kind: str, profile: str, now: datetime, dispatcher: str = "") -> Campaign:
        async with self.db.session() as s:
            row = CampaignRecordRow(name=name, kind=kind, profile=profile, status="draft",
                                    dispatcher=dispatcher, created_at=now)
            s.add(row)
            await s.commit()
            return campaign_of(row)

    async def get(self, campaign_id: int) -> Campaign:
        return campaign_of(await self._by_id(CampaignRecordRow, campaign_id, "campaign"))

    async def list(self, status: str | None = None) -> list[Campaign]:
        """Oldest first. The dialer asks for the running ones twice a second, calls or not: one
        prebuilt statement in one hop (Database.run), not an ORM session on aiosqlite."""
        statement, values = (_CAMPAIGNS_IN, {"status": status}) if status else (_ALL_CAMPAIGNS, {})
        return await self.db.run(lambda conn: [campaign_of(r) for r in conn.execute(statement, values)])

    async def _by_id(self, model: type, key: int, what: str):
        """One row of `model`'s table by its id, read in one hop (`Database.run`): the dialer reads
        these for every call and round, and each statement through aiosqlite is several turns of a
        busy event loop."""
        table = model.__table__
        found = await self.db.run(lambda conn: conn.execute(select(table).where(table.c.id == key)).first())
        if found is None:
            raise CampaignNotFound(f"no {what} {key}")
        return found

    async def change(self, campaign_id: int, command: str, now: datetime) -> Campaign:
        allowed, new = TRANSITIONS[command]
        async with self.db.session() as s:
            row = await s.get(CampaignRecordRow, campaign_id, with_for_update=True)
            if row is None:
                raise CampaignNotFound(f"no campaign {campaign_id}")
            if row.status not in allowed:
                raise CampaignError(f"campaign {campaign_id} is {row.status}: cannot {command} it")
            row.status = new
            if new == "cancelled":
                # Calls in flight finish; nothing new is dialled.
                await s.execute(update(CampaignEntryRow)
                                .where(CampaignEntryRow.campaign_id == campaign_id,
                                       CampaignEntryRow.status == "ready")
                                .values(status="cancelled", result="cancelled", updated_at=now))
            await s.commit()
            return campaign_of(row)

    # ----- rows -----

    async def add_rows(self, campaign_id: int, rows: Iterable[tuple[Passenger, str, Decision]],
                       now: datetime) -> tuple[int, list[str]]:
        """Insert rows (passenger, callee zone, first decision) in one transaction. A row whose
        idempotency key the campaign already has (or an earlier row of these has) is skipped; a
        ready row whose number is on the do-not-call list is stored done. Returns (added, keys
        skipped)."""
        added, skipped = 0, set()
        async with self.db.session() as s:
            for chunk in _chunks(rows, INSERT_CHUNK):
                keys = {p.key for p, _, _ in chunk if p.key}
                seen = set((await s.scalars(select(CampaignEntryRow.idem_key).where(
                    CampaignEntryRow.campaign_id == campaign_id,
                    CampaignEntryRow.idem_key.in_(keys)))).all()) if keys else set()
                barred = set((await s.scalars(select(DoNotCallRow.number).where(
                    DoNotCallRow.number.in_({p.phone for p, _, d in chunk if not d.final})))).all())
                values = []
                for p, zone, decision in chunk:
                    if p.key and p.key in seen:
                        skipped.add(p.key)
                        continue
                    if p.key:
                        seen.add(p.key)
                    status, result = "done" if decision.final else "ready", decision.result
                    if status == "ready" and p.phone in barred:
                        status, result = "done", "do_not_call"
                    values.append(dict(
                        campaign_id=campaign_id, name=p.name, phone=p.phone, raw_phone=p.raw_phone,
                        trip_id=p.trip_id, route=p.route, departure=p.departure,
                        trip_timezone=p.timezone, seat=p.seat, bus=p.bus,
                        platform=p.platform, language=p.language, timezone=zone, status=status,
                        result=result, attempts=0, next_at=decision.next_at, idem_key=p.key or None,
                        source_rows=list(p.source_rows), claimed_by="", claim_token="", updated_at=now))
                if values:
                    # Core executemany: no ORM object per row
                    await s.execute(insert(CampaignEntryRow.__table__), values)
                    added += len(values)
            await s.commit()
        return added, sorted(skipped)

    async def rows(self, campaign_id: int) -> list[Row]:
        async with self.db.session() as s:
            q = select(CampaignEntryRow).where(CampaignEntryRow.campaign_id == campaign_id) \
                .order_by(CampaignEntryRow.id)
            return [row_of(r) for r in (await s.scalars(q)).all()]

    async def row(self, row_id: int) -> Row:
        return row_of(await self._by_id(CampaignEntryRow, row_id, "campaign row"))

    async def counts(self, campaign_id: int) -> dict[str, dict[str, int]]:
        """Rows by status and by result (answers, outcomes)."""
        async with self.db.session() as s:
            q = select(CampaignEntryRow.status, CampaignEntryRow.result, func.count()) \
                .where(CampaignEntryRow.campaign_id == campaign_id) \
                .group_by(CampaignEntryRow.status, CampaignEntryRow.result)
            by_status: Counter[str] = Counter()
            by_result: Counter[str] = Counter()
            for status, result, n in (await s.execute(q)).all():
                by_status[status] += n
                if result:
                    by_result[result] += n
        return {"status": dict(by_status), "result": dict(by_result)}

    async def mark_done(self, campaign_id: int, target: int | str, answer: str, by: str,
                        now: datetime) -> list[Row]:
        """Settle rows by hand (a passenger who called in and confirmed with a dispatcher): the
        row (`target` an id) or every open row of a phone (`target` E.164) is done with `answer`,
        and who and when are kept. A row whose attempt is in flight is settled too: that call goes
        on, but its end decides nothing and no retry follows. Returns the rows marked."""
        result = mark_answer(answer)
        async with self.db.session() as s:
            q = select(CampaignEntryRow).where(CampaignEntryRow.campaign_id == campaign_id)
            q = q.where(CampaignEntryRow.id == target) if isinstance(target, int) \
                else q.where(CampaignEntryRow.phone == target)
            found = (await s.scalars(q.order_by(CampaignEntryRow.id).with_for_update())).all()
            if not found:
                what = f"row {target}" if isinstance(target, int) else f"row with phone {target}"
                raise CampaignNotFound(f"campaign {campaign_id} has no {what}")
            open_rows = [r for r in found if r.status in ("ready", "calling")]
            if not open_rows:
                settled = ", ".join(f"row {r.id} is {r.status} ({r.result or 'no result'})" for r in found)
                raise CampaignError(f"nothing to mark: {settled}")
            for r in open_rows:
                s.add(CampaignMarkRow(row_id=r.id, campaign_id=campaign_id, answer=result, marked_by=by,
                                      marked_at=now, in_flight=r.status == "calling"))
                r.status, r.result, r.next_at = "done", result, None
                r.claimed_by, r.claim_token, r.updated_at = "", "", now
            await s.commit()
            return [row_of(r) for r in open_rows]

    async def call_again(self, campaign_id: int, row_id: int, now: datetime) -> Row:
        """Call one row again now (ops: a passenger cut off, or given up on): it is due at `now`,
        whatever its retries said, and a campaign that had finished runs again for it. Not while
        a call to it is in flight, not in a cancelled campaign, not to a do-not-call number."""
        async with self.db.session() as s:
            r = await s.get(CampaignEntryRow, row_id, with_for_update=True)
            if r is None or r.campaign_id != campaign_id:
                raise CampaignNotFound(f"campaign {campaign_id} has no row {row_id}")
            campaign = await s.get(CampaignRecordRow, campaign_id, with_for_update=True)
            if campaign.status == "cancelled":
                raise CampaignError(f"campaign {campaign_id} is cancelled: start a new one to call again")
            if r.status == "calling":
                raise CampaignError(f"row {row_id} is being called now")
            if await s.get(DoNotCallRow, r.phone) is not None:
                raise CampaignError(f"{r.phone} is on the do-not-call list")
            r.status, r.next_at, r.updated_at = "ready", now, now
            if campaign.status == "done":
                campaign.status = "running"
            await s.commit()
            return row_of(r)

    async def marks(self, campaign_id: int) -> dict[int, Mark]:
        """Rows settled by hand, by row id."""
        async with self.db.session() as s:
            q = select(CampaignMarkRow).where(CampaignMarkRow.campaign_id == campaign_id)
            return {m.row_id: Mark(m.row_id, m.answer, m.marked_by, m.marked_at, m.in_flight)
                    for m in (await s.scalars(q)).all()}

    async def outcome_times(self, campaign_id: int) -> list[tuple[datetime, str]]:
        """When each attempt ended and how, and each row marked by hand ("marked"): the outcomes
        over time of the console's chart."""
        async with self.db.session() as s:
            ended = (await s.execute(select(CampaignAttemptRow.ended_at, CampaignAttemptRow.outcome).where(
                CampaignAttemptRow.campaign_id == campaign_id, CampaignAttemptRow.ended_at.is_not(None)))).all()
            marked = (await s.scalars(select(CampaignMarkRow.marked_at).where(
                CampaignMarkRow.campaign_id == campaign_id))).all()
        return [(t, o or "lost") for t, o in ended] + [(t, "marked") for t in marked]

    # ----- claiming -----

    async def claim(self, campaign_id: int, instance: str, now: datetime, limit: int,
                    channel_id_for: ChannelIdFor, trunk_for: Callable[[Row], str | None],
                    expired: Callable[[Row], bool], scan: int = SCAN_ROWS) -> list[tuple[Row, Attempt]]:
        """Claim up to `limit` due rows, earliest call time first, and write one attempt for each,
        in one transaction. A row whose trunk has no channel free for campaigns (trunk_for gives
        None) is passed over exactly as it was (call time, attempts) and the rows behind it are
        looked at, so a full trunk never holds back rows on other trunks.

        Rows are claimed in windows (growing while rows are passed over), at most `scan` per call.
        A call that stops at `scan` leaves a cursor: the next call goes on from there and back to
        the head of the line at its end, so every due row is looked at however long a full
        trunk's line is."""
        if limit <= 0:
            return []
        out: list[tuple[Row, Attempt]] = []
        cursor = self._cursors.pop(campaign_id, None)
        wrapped = cursor is None
        examined, window = 0, limit
        async with self.db.session() as s:
            while len(out) < limit and examined < scan:
                batch = await self._claim_window(s, campaign_id, instance, now, cursor,
                                                 min(window, scan - examined))
                if not batch:
                    if wrapped:
                        break
                    cursor, wrapped = None, True          # the end: on from the head of the line
                    continue
                examined += len(batch)
                cursor = (batch[-1].next_at, batch[-1].id)
                window *= 2
                taken: list[tuple[Row, CampaignAttemptRow]] = []
                for r in batch:
                    if len(out) + len(taken) == limit:
                        self._release(r)                  # claimed beyond the need: not looked at
                        continue
                    row = row_of(r)
                    if expired(row):
                        self._release(r)
                        r.status, r.result, r.updated_at = "done", "expired", now
                        continue
                    trunk = trunk_for(row)
                    if trunk is None:
                        self._release(r)
                        continue
                    r.updated_at = now
                    a = CampaignAttemptRow(row_id=r.id, campaign_id=campaign_id, number=r.phone,
                                           channel_id=channel_id_for(row), trunk=trunk,
                                           instance=instance, created_at=now)
                    s.add(a)
                    taken.append((row, a))
                await s.flush()                           # one INSERT of the attempts (their ids)
                out += [(row, attempt_of(a)) for row, a in taken]
            if len(out) < limit and examined >= scan and cursor is not None:
                self._cursors[campaign_id] = cursor
            await s.commit()
            return out

    @staticmethod
    def pick(campaign_id: int, now: datetime, after: tuple[datetime, int] | None, size: int) -> Select:
        """The ids of the next `size` due rows after `after` (call time, id), by ix_campaign_rows_due;
        numbers on the do-not-call list are never picked."""
        due = and_(CampaignEntryRow.campaign_id == campaign_id, CampaignEntryRow.status == "ready",
                   CampaignEntryRow.next_at <= now)
        if after is not None:
            due = and_(due, or_(CampaignEntryRow.next_at > after[0],
                                and_(CampaignEntryRow.next_at == after[0], CampaignEntryRow.id > after[1])))
        return select(CampaignEntryRow.id).where(due, ~ON_DNC_LIST) \
            .order_by(CampaignEntryRow.next_at, CampaignEntryRow.id).limit(size)

    async def _claim_window(self, s: AsyncSession, campaign_id: int, instance: str, now: datetime,
                            after: tuple[datetime, int] | None, size: int) -> list[CampaignEntryRow]:
        """Claim the next `size` due rows after `after` for this instance, marked with a fresh
        token: PostgreSQL locks them first (SKIP LOCKED: rows another dialer holds are not waited
        for); on SQLite the UPDATE only takes rows still ready. RETURNING gives exactly the rows
        this UPDATE took."""
        pick = self.pick(campaign_id, now, after, size)
        if self.db.dialect == "postgresql":
            ids = list((await s.scalars(pick.with_for_update(skip_locked=True, of=CampaignEntryRow))).all())
            if not ids:
                return []
            target = CampaignEntryRow.id.in_(ids)
        else:
            target = and_(CampaignEntryRow.id.in_(pick.scalar_subquery()), CampaignEntryRow.status == "ready")
        taken = (await s.scalars(
            update(CampaignEntryRow).where(target).values(
                status="calling", claimed_by=instance, claim_token=uuid.uuid4().hex,
                attempts=CampaignEntryRow.attempts + 1).returning(CampaignEntryRow),
            execution_options={"synchronize_session": False, "populate_existing": True})).all()
        return sorted(taken, key=lambda r: (r.next_at, r.id))

    @staticmethod
    def _release(r: CampaignEntryRow) -> None:
        """Undo a claim: the row is as it was before this transaction."""
        r.status, r.claimed_by, r.claim_token = "ready", "", ""
        r.attempts -= 1

    # ----- attempts -----

    async def attempt(self, attempt_id: int) -> Attempt:
        return attempt_of(await self._by_id(CampaignAttemptRow, attempt_id, "campaign attempt"))

    async def attempts(self, campaign_id: int) -> list[Attempt]:
        async with self.db.session() as s:
            q = select(CampaignAttemptRow).where(CampaignAttemptRow.campaign_id == campaign_id) \
                .order_by(CampaignAttemptRow.id)
            return [attempt_of(a) for a in (await s.scalars(q)).all()]

    async def open_count(self, campaign_id: int) -> int:
        """Attempts of the campaign in flight on any node (a cluster paces on this)."""
        async with self.db.session() as s:
            return await s.scalar(select(func.count()).select_from(CampaignAttemptRow).where(
                CampaignAttemptRow.campaign_id == campaign_id, CampaignAttemptRow.ended_at.is_(None))) or 0

    async def open_attempts(self, instance: str) -> list[Attempt]:
        """Attempts of this instance that have not ended (after a restart: in flight, or lost)."""
        async with self.db.session() as s:
            q = select(CampaignAttemptRow).where(CampaignAttemptRow.instance == instance,
                                                 CampaignAttemptRow.ended_at.is_(None))
            return [attempt_of(a) for a in (await s.scalars(q)).all()]

    # Each campaign call's own writes: one hop each (attempt_writes.py says why).

    async def answered(self, attempt_id: int, now: datetime) -> None:
        await self._set(attempt_id, CampaignAttemptRow.answered_at.is_(None), answered_at=now)

    async def store_answer(self, attempt_id: int, digit: str, action: str, now: datetime,
                           webhook: str = "") -> bool:
        """Committed before the thank-you prompt plays: a crash after this keeps the answer. The
        webhook for `webhook` (a URL) is queued in the outbox in the same transaction, keyed by the
        attempt, so it exists exactly when the answer does. False if the attempt had an answer."""
        return await self._write(writes.store_answer, attempt_id, digit, action, now, webhook)

    async def fail_over(self, attempt_id: int, channel_id: str, new_channel_id: str, trunk: str) -> Attempt | None:
        """Move an open, unanswered attempt from its failed leg `channel_id` to a new leg on
        `trunk`, committed before that leg is dialled; the failed trunk joins `tried`. None when
        the attempt ended, was answered or already moved on: nothing may be dialled then."""
        return await self._write(writes.fail_over, attempt_id, channel_id, new_channel_id, trunk)

    async def set_outcome(self, attempt_id: int, outcome: str) -> None:
        await self._set(attempt_id, CampaignAttemptRow.ended_at.is_(None), outcome=outcome)

    async def _set(self, attempt_id: int, condition, **values) -> None:
        await self._write(writes.set_values, attempt_id, condition, values)

    async def release(self, calls: list[tuple[Attempt, Decision | None]], now: datetime) -> None:
        """Attempts claimed but never dialled, handed back (attempt_writes.release)."""
        if calls:
            await self._write(writes.release, calls, now)

    async def finish(self, attempt_id: int, ended_outcome: str, now: datetime, decide: Decide) -> str | None:
        """End an attempt and decide its row. The outcome is what was stored (an answer, or what the
        flow recorded), else "interrupted" if the passenger had answered, else `ended_outcome`
        (from the hangup cause, or "lost" when nothing is known). None if it had already ended.
        `decide` runs in the database's thread: it must only compute."""
        return await self._write(writes.finish, attempt_id, ended_outcome, now, decide)

    async def _write(self, work: Callable[..., T], *args) -> T:
        return await self.db.run(lambda conn: work(conn, *args))

    async def finish_if_complete(self, campaign_id: int) -> bool:
        """A running campaign with nothing left to call or in flight is done. Ready rows of numbers
        on the do-not-call list are not left to call: they are settled then (rows a race with
        do_not_call or an import left ready)."""
        open_row = and_(CampaignEntryRow.campaign_id == campaign_id,
                        CampaignEntryRow.status.in_(("ready", "calling")))
        async with self.db.session() as s:
            if await s.scalar(select(CampaignEntryRow.id).where(
                    open_row, or_(CampaignEntryRow.status == "calling", ~ON_DNC_LIST)).limit(1)) is not None:
                return False
            await s.execute(update(CampaignEntryRow).where(
                CampaignEntryRow.campaign_id == campaign_id, CampaignEntryRow.status == "ready", ON_DNC_LIST)
                .values(status="done", result="do_not_call", updated_at=select(DoNotCallRow.added_at).where(
                    DoNotCallRow.number == CampaignEntryRow.phone).scalar_subquery()))
            res = await s.execute(update(CampaignRecordRow).where(
                CampaignRecordRow.id == campaign_id, CampaignRecordRow.status == "running").values(status="done"))
            await s.commit()
            return bool(res.rowcount)

    # ----- a passenger calling back -----

    async def callback_row(self, phone: str, now: datetime) -> tuple[Row, Campaign] | None:
        """The row a passenger calling back is about: their soonest trip not yet gone, in a
        campaign not cancelled (the latest row when no departure is known)."""
        return await self.db.run(self.callback_lookup(phone, now))

    def callback_lookup(self, phone: str, now: datetime) -> Callable[[Connection], tuple[Row, Campaign] | None]:
        """`callback_row` as work for Database.run, for a caller that runs it with its own in one hop."""
        return lambda conn: _callback_row(conn, phone, now)

    async def inbound_attempt(self, row: Row, channel_id: str, instance: str, now: datetime) -> Attempt:
        """The passenger's own call, stored as an attempt of their row (trunk "inbound") so their
        answer is kept like any other, with its digit and webhook."""
        return await self._write(writes.inbound_attempt, row.id, row.campaign_id, row.passenger.phone,
                                 channel_id, instance, now)

    async def finish_callback(self, attempt_id: int, now: datetime) -> str:
        """End the passenger's own call: an answer settles their row (unless a call to them is in
        flight, whose end decides); without one the row stays as it was."""
        return await self._write(writes.finish_callback, attempt_id, now)

    # ----- do not call -----

    async def do_not_call(self, number: str, reason: str, now: datetime) -> None:
        """Put a number on the list; its ready rows in every campaign are done at once (a call in
        flight goes on, and is not retried)."""
        async with self.db.session() as s:
            if await s.get(DoNotCallRow, number) is None:
                s.add(DoNotCallRow(number=number, reason=reason, added_at=now))
                await s.execute(update(CampaignEntryRow).where(
                    CampaignEntryRow.phone == number, CampaignEntryRow.status == "ready").values(
                    status="done", result="do_not_call", updated_at=now))
                await s.commit()
