"""Campaigns, their rows and attempts in the database; row claiming that two dialers share safely.

Claiming: PostgreSQL picks due rows with SELECT ... FOR UPDATE SKIP LOCKED; SQLite (one writer at a
time) marks them with UPDATE ... WHERE status = 'ready' and a fresh claim token, then reads back by
token. Either way the attempt rows (with the channel ids we chose) are inserted in the same
transaction, so an attempt exists in the database before anything is dialled.
"""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.campaigns.model import Attempt, Campaign, CampaignError, CampaignNotFound, Passenger, Row
from ivr.campaigns.scheduler import Decision
from ivr.notify.outbox import enqueue
from ivr.store.db import Database
from ivr.store.models import CampaignAttemptRow, CampaignEntryRow, CampaignRecordRow, DoNotCallRow

# Allowed status changes: command -> (states it applies to, new state).
TRANSITIONS = {"start": (("draft", "paused"), "running"), "pause": (("running",), "paused"),
               "resume": (("paused",), "running"), "cancel": (("draft", "running", "paused"), "cancelled")}

Decide = Callable[[str, dict[str, int], int, Row], Decision]
ChannelIdFor = Callable[[Row], str]


def _campaign(r: CampaignRecordRow) -> Campaign:
    return Campaign(r.id, r.name, r.kind, r.profile, r.status, r.created_at, r.dispatcher)


def _row(r: CampaignEntryRow) -> Row:
    p = Passenger(name=r.name, phone=r.phone, trip_id=r.trip_id, route=r.route, departure=r.departure,
                  seat=r.seat, bus=r.bus, platform=r.platform, language=r.language, raw_phone=r.raw_phone,
                  source_rows=tuple(r.source_rows or ()), key=r.idem_key or "")
    return Row(r.id, r.campaign_id, p, r.timezone, r.status, r.result, r.attempts, r.next_at,
               r.claim_token, r.claimed_by)


def answer_payload(a: CampaignAttemptRow, r: CampaignEntryRow, key: str) -> dict:
    """The signed JSON of one answer: the booking system finds its row by `row_key` (its own
    idempotency key; "" for CSV rows, which it finds by trip and phone)."""
    return {"event": "campaign-answer", "idempotency_key": key, "campaign_id": a.campaign_id,
            "row_id": r.id, "row_key": r.idem_key or "", "trip_id": r.trip_id, "phone": r.phone,
            "name": r.name, "attempt_id": a.id, "attempt": r.attempts, "digit": a.digit, "answer": a.answer,
            "at": a.answer_at.isoformat() if a.answer_at else None}


def _attempt(a: CampaignAttemptRow) -> Attempt:
    return Attempt(a.id, a.row_id, a.campaign_id, a.number, a.channel_id, a.trunk, a.instance, a.created_at,
                   a.answered_at, a.ended_at, a.outcome, a.digit, a.answer, a.answer_at)


class CampaignStore:
    def __init__(self, db: Database):
        self.db = db

    # ----- campaigns -----

    async def create(self, name: str, kind: str, profile: str, now: datetime, dispatcher: str = "") -> Campaign:
        async with self.db.session() as s:
            row = CampaignRecordRow(name=name, kind=kind, profile=profile, status="draft",
                                    dispatcher=dispatcher, created_at=now)
            s.add(row)
            await s.commit()
            return _campaign(row)

    async def get(self, campaign_id: int) -> Campaign:
        async with self.db.session() as s:
            row = await s.get(CampaignRecordRow, campaign_id)
            if row is None:
                raise CampaignNotFound(f"no campaign {campaign_id}")
            return _campaign(row)

    async def list(self, status: str | None = None) -> list[Campaign]:
        async with self.db.session() as s:
            q = select(CampaignRecordRow).order_by(CampaignRecordRow.id)
            if status:
                q = q.where(CampaignRecordRow.status == status)
            return [_campaign(r) for r in (await s.scalars(q)).all()]

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
            return _campaign(row)

    # ----- rows -----

    async def add_rows(self, campaign_id: int, rows: Iterable[tuple[Passenger, str, Decision]],
                       now: datetime) -> tuple[int, list[str]]:
        """Insert rows (passenger, callee zone, first decision). Rows whose idempotency key the
        campaign already has are skipped; returns (added, keys skipped)."""
        rows = list(rows)
        async with self.db.session() as s:
            keys = [p.key for p, _, _ in rows if p.key]
            existing: set[str] = set()
            if keys:
                existing = set((await s.scalars(select(CampaignEntryRow.idem_key).where(
                    CampaignEntryRow.campaign_id == campaign_id, CampaignEntryRow.idem_key.in_(keys)))).all())
            added = 0
            for p, zone, decision in rows:
                if p.key and p.key in existing:
                    continue
                s.add(CampaignEntryRow(
                    campaign_id=campaign_id, name=p.name, phone=p.phone, raw_phone=p.raw_phone,
                    trip_id=p.trip_id, route=p.route, departure=p.departure, seat=p.seat, bus=p.bus,
                    platform=p.platform, language=p.language, timezone=zone,
                    status="done" if decision.final else "ready", result=decision.result,
                    attempts=0, next_at=decision.next_at, idem_key=p.key or None,
                    source_rows=list(p.source_rows), updated_at=now))
                added += 1
            await s.commit()
        return added, sorted(existing)

    async def rows(self, campaign_id: int) -> list[Row]:
        async with self.db.session() as s:
            q = select(CampaignEntryRow).where(CampaignEntryRow.campaign_id == campaign_id) \
                .order_by(CampaignEntryRow.id)
            return [_row(r) for r in (await s.scalars(q)).all()]

    async def row(self, row_id: int) -> Row:
        async with self.db.session() as s:
            r = await s.get(CampaignEntryRow, row_id)
            if r is None:
                raise CampaignNotFound(f"no campaign row {row_id}")
            return _row(r)

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

    async def mark_done(self, campaign_id: int, phone: str, result: str, now: datetime) -> int:
        """A passenger settled another way (confirmed with a dispatcher): no more calls."""
        async with self.db.session() as s:
            res = await s.execute(update(CampaignEntryRow).where(
                CampaignEntryRow.campaign_id == campaign_id, CampaignEntryRow.phone == phone,
                CampaignEntryRow.status == "ready").values(status="done", result=result, updated_at=now))
            await s.commit()
            return res.rowcount or 0

    # ----- claiming -----

    async def claim(self, campaign_id: int, instance: str, now: datetime, limit: int,
                    channel_id_for: ChannelIdFor, trunk_for: Callable[[Row], str | None],
                    expired: Callable[[Row], bool], wait: timedelta = timedelta(seconds=2)
                    ) -> list[tuple[Row, Attempt]]:
        """Claim up to `limit` due rows and write one attempt for each, in one transaction. A row
        whose trunk has no channel free for campaigns (trunk_for gives None) is handed back, due
        again after `wait`, so rows for other trunks go first meanwhile."""
        if limit <= 0:
            return []
        token = uuid.uuid4().hex
        async with self.db.session() as s:
            await self._apply_dnc(s, campaign_id, now)
            due = and_(CampaignEntryRow.campaign_id == campaign_id, CampaignEntryRow.status == "ready",
                       CampaignEntryRow.next_at <= now)
            pick = select(CampaignEntryRow.id).where(due).order_by(CampaignEntryRow.next_at,
                                                                  CampaignEntryRow.id).limit(limit)
            if self.db.dialect == "postgresql":
                ids = list((await s.scalars(pick.with_for_update(skip_locked=True))).all())
                if not ids:
                    await s.rollback()
                    return []
                target = CampaignEntryRow.id.in_(ids)
            else:
                target = and_(CampaignEntryRow.id.in_(pick.scalar_subquery()), due)
            await s.execute(update(CampaignEntryRow).where(target).values(
                status="calling", claimed_by=instance, claim_token=token, updated_at=now,
                attempts=CampaignEntryRow.attempts + 1))
            claimed = (await s.scalars(select(CampaignEntryRow).where(
                CampaignEntryRow.claim_token == token).order_by(CampaignEntryRow.id))).all()
            out = []
            for r in claimed:
                row = _row(r)
                if expired(row):
                    r.status, r.result, r.claimed_by, r.claim_token = "done", "expired", "", ""
                    r.attempts -= 1
                    continue
                trunk = trunk_for(row)
                if trunk is None:
                    r.status, r.claimed_by, r.claim_token, r.next_at = "ready", "", "", now + wait
                    r.attempts -= 1
                    continue
                a = CampaignAttemptRow(row_id=r.id, campaign_id=campaign_id, number=r.phone,
                                       channel_id=channel_id_for(row), trunk=trunk,
                                       instance=instance, created_at=now)
                s.add(a)
                await s.flush()
                out.append((row, _attempt(a)))
            await s.commit()
            return out

    @staticmethod
    async def _apply_dnc(s: AsyncSession, campaign_id: int, now: datetime) -> None:
        await s.execute(update(CampaignEntryRow).where(
            CampaignEntryRow.campaign_id == campaign_id, CampaignEntryRow.status == "ready",
            CampaignEntryRow.phone.in_(select(DoNotCallRow.number))).values(
            status="done", result="do_not_call", updated_at=now))

    # ----- attempts -----

    async def attempt(self, attempt_id: int) -> Attempt:
        async with self.db.session() as s:
            a = await s.get(CampaignAttemptRow, attempt_id)
            if a is None:
                raise CampaignNotFound(f"no campaign attempt {attempt_id}")
            return _attempt(a)

    async def attempts(self, campaign_id: int) -> list[Attempt]:
        async with self.db.session() as s:
            q = select(CampaignAttemptRow).where(CampaignAttemptRow.campaign_id == campaign_id) \
                .order_by(CampaignAttemptRow.id)
            return [_attempt(a) for a in (await s.scalars(q)).all()]

    async def open_attempts(self, instance: str) -> list[Attempt]:
        """Attempts of this instance that have not ended (after a restart: in flight, or lost)."""
        async with self.db.session() as s:
            q = select(CampaignAttemptRow).where(CampaignAttemptRow.instance == instance,
                                                 CampaignAttemptRow.ended_at.is_(None))
            return [_attempt(a) for a in (await s.scalars(q)).all()]

    async def answered(self, attempt_id: int, now: datetime) -> None:
        await self._set(attempt_id, CampaignAttemptRow.answered_at.is_(None), answered_at=now)

    async def store_answer(self, attempt_id: int, digit: str, action: str, now: datetime,
                           webhook: str = "") -> bool:
        """Committed before the thank-you prompt plays: a crash after this keeps the answer. The
        webhook for `webhook` (a URL) is queued in the outbox in the same transaction, keyed by the
        attempt, so it exists exactly when the answer does. False if the attempt had an answer."""
        async with self.db.session() as s:
            res = await s.execute(update(CampaignAttemptRow).where(
                CampaignAttemptRow.id == attempt_id, CampaignAttemptRow.answer == "")
                .values(digit=digit, answer=action, answer_at=now))
            if not res.rowcount:
                await s.rollback()
                return False
            if webhook:
                a = await s.get(CampaignAttemptRow, attempt_id)
                r = await s.get(CampaignEntryRow, a.row_id)
                key = f"webhook:campaign{a.campaign_id}:attempt{a.id}:{webhook}"
                await enqueue(s, key, "webhook", webhook, answer_payload(a, r, key), now)
            await s.commit()
            return True

    async def set_outcome(self, attempt_id: int, outcome: str) -> None:
        await self._set(attempt_id, CampaignAttemptRow.ended_at.is_(None), outcome=outcome)

    async def _set(self, attempt_id: int, condition, **values) -> None:
        async with self.db.session() as s:
            await s.execute(update(CampaignAttemptRow).where(CampaignAttemptRow.id == attempt_id, condition)
                            .values(**values))
            await s.commit()

    async def finish(self, attempt_id: int, ended_outcome: str, now: datetime, decide: Decide) -> str | None:
        """End an attempt and decide its row. The outcome is what was stored (an answer, or what the
        flow recorded), else "interrupted" if the passenger had answered, else `ended_outcome`
        (from the hangup cause, or "lost" when nothing is known). None if it had already ended."""
        async with self.db.session() as s:
            a = await s.get(CampaignAttemptRow, attempt_id, with_for_update=True)
            if a is None or a.ended_at is not None:
                return None
            outcome = a.answer or a.outcome or ("interrupted" if a.answered_at else ended_outcome)
            a.outcome, a.ended_at = outcome, now
            await s.flush()
            r = await s.get(CampaignEntryRow, a.row_id, with_for_update=True)
            if r is not None and r.status == "calling":
                rows = (await s.execute(select(CampaignAttemptRow.outcome, func.count()).where(
                    CampaignAttemptRow.row_id == r.id, CampaignAttemptRow.ended_at.is_not(None))
                    .group_by(CampaignAttemptRow.outcome))).all()
                counts = {o: n for o, n in rows}
                campaign = await s.get(CampaignRecordRow, r.campaign_id)
                decision = decide(outcome, counts, r.attempts, _row(r))
                if campaign is not None and campaign.status == "cancelled" and not decision.final:
                    decision = Decision(True, "cancelled")
                r.status = "done" if decision.final else "ready"
                r.result = decision.result
                r.next_at = decision.next_at
                r.claimed_by, r.claim_token, r.updated_at = "", "", now
            await s.commit()
            return outcome

    async def finish_if_complete(self, campaign_id: int) -> bool:
        """A running campaign with nothing left to call or in flight is done."""
        async with self.db.session() as s:
            left = await s.scalar(select(func.count()).where(
                CampaignEntryRow.campaign_id == campaign_id,
                CampaignEntryRow.status.in_(("ready", "calling"))))
            if left:
                return False
            res = await s.execute(update(CampaignRecordRow).where(
                CampaignRecordRow.id == campaign_id, CampaignRecordRow.status == "running").values(status="done"))
            await s.commit()
            return bool(res.rowcount)

    # ----- do not call -----

    async def do_not_call(self, number: str, reason: str, now: datetime) -> None:
        async with self.db.session() as s:
            if await s.get(DoNotCallRow, number) is None:
                s.add(DoNotCallRow(number=number, reason=reason, added_at=now))
                await s.commit()

    async def do_not_call_list(self) -> Sequence[str]:
        async with self.db.session() as s:
            return list((await s.scalars(select(DoNotCallRow.number).order_by(DoNotCallRow.number))).all())
