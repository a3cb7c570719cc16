"""What every campaign call writes (answered, its answer, a failover, its end), as synchronous
transactions that `Database.run` runs in one hop.

On SQLite the write lock is held from a transaction's first write to its commit. Through the
async engine every statement of a transaction is a hop between the event loop and aiosqlite's
thread, so at 150 campaign calls a transaction kept the lock for several turns of a busy loop:
writers queued behind it for seconds (a freed slot waited 5 s for its next INVITE, bench_campaign)
and some gave up after the 15 s busy timeout ("database is locked"). Run by `Database.run`, the
whole transaction is one piece of work in the runner's thread, and the lock is held for the
statements alone. On PostgreSQL the same functions run on the async engine's connection.

Each function gets the runner's connection and leaves the commit to the runner, which may commit
several calls' work together; so none of them rolls back (nothing is written when they return
early). They are SQLAlchemy Core statements on the tables: the ORM's identity map, `get` and flush
were 30 % of the service's busy samples at 150 campaign calls (bench_campaign).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.orm import Session

from ivr.campaigns.model import Attempt
from ivr.campaigns.rows import Decide, answer_payload, attempt_of, row_of
from ivr.campaigns.scheduler import Decision
from ivr.notify.outbox import enqueue_in
from ivr.store.models import CampaignAttemptRow, CampaignEntryRow, CampaignRecordRow, DoNotCallRow

A, R = CampaignAttemptRow.__table__, CampaignEntryRow.__table__
C, DNC = CampaignRecordRow.__table__, DoNotCallRow.__table__


def set_values(conn: Connection, attempt_id: int, condition, values: dict) -> None:
    conn.execute(update(A).where(A.c.id == attempt_id, condition).values(**values))


def store_answer(conn: Connection, attempt_id: int, digit: str, action: str, now: datetime, webhook: str) -> bool:
    res = conn.execute(update(A).where(A.c.id == attempt_id, A.c.answer == "")
                       .values(digit=digit, answer=action, answer_at=now))
    if not res.rowcount:
        return False                    # answered before: nothing was written
    if webhook:
        a = conn.execute(select(A).where(A.c.id == attempt_id)).one()
        r = conn.execute(select(R).where(R.c.id == a.row_id)).one()
        key = f"webhook:campaign{a.campaign_id}:attempt{a.id}:{webhook}"
        with Session(bind=conn) as s:
            enqueue_in(s, key, "webhook", webhook, answer_payload(a, r, key), now)
            s.flush()
    return True


def fail_over(conn: Connection, attempt_id: int, channel_id: str, new_channel_id: str, trunk: str) -> Attempt | None:
    a = conn.execute(select(A.c.row_id, A.c.trunk, A.c.tried).where(A.c.id == attempt_id)).first()
    if a is None:
        return None
    res = conn.execute(update(A).where(
        A.c.id == attempt_id, A.c.channel_id == channel_id, A.c.ended_at.is_(None), A.c.answered_at.is_(None),
        # a row marked done by hand meanwhile is not dialled again
        A.c.row_id.in_(select(R.c.id).where(R.c.id == a.row_id, R.c.status == "calling")))
        .values(channel_id=new_channel_id, trunk=trunk, tried=[*(a.tried or ()), a.trunk]))
    if not res.rowcount:
        return None
    return attempt_of(conn.execute(select(A).where(A.c.id == attempt_id)).one())


def finish(conn: Connection, attempt_id: int, ended_outcome: str, now: datetime, decide: Decide) -> str | None:
    a = conn.execute(select(A.c.row_id, A.c.answer, A.c.outcome, A.c.answered_at, A.c.ended_at)
                     .where(A.c.id == attempt_id).with_for_update()).first()
    if a is None or a.ended_at is not None:
        return None
    outcome = a.answer or a.outcome or ("interrupted" if a.answered_at else ended_outcome)
    conn.execute(update(A).where(A.c.id == attempt_id).values(outcome=outcome, ended_at=now))
    r = conn.execute(select(R).where(R.c.id == a.row_id).with_for_update()).first()
    if r is not None and r.status == "calling":
        counts = dict(conn.execute(select(A.c.outcome, func.count()).where(
            A.c.row_id == r.id, A.c.ended_at.is_not(None)).group_by(A.c.outcome)).all())
        decision = decide(outcome, counts, r.attempts, row_of(r))
        if not decision.final and conn.scalar(select(C.c.status).where(C.c.id == r.campaign_id)) == "cancelled":
            decision = Decision(True, "cancelled")
        if not decision.final and conn.scalar(select(DNC.c.number).where(DNC.c.number == r.phone)) is not None:
            decision = Decision(True, "do_not_call")     # listed while this call was made
        conn.execute(update(R).where(R.c.id == r.id).values(
            status="done" if decision.final else "ready", result=decision.result, next_at=decision.next_at,
            claimed_by="", claim_token="", updated_at=now))
    return outcome


def inbound_attempt(conn: Connection, row_id: int, campaign_id: int, number: str, channel_id: str, instance: str,
                    now: datetime) -> Attempt:
    res = conn.execute(insert(A).values(row_id=row_id, campaign_id=campaign_id, number=number, channel_id=channel_id,
                                        trunk="inbound", instance=instance, created_at=now, answered_at=now))
    return attempt_of(conn.execute(select(A).where(A.c.id == res.inserted_primary_key[0])).one())


def finish_callback(conn: Connection, attempt_id: int, now: datetime) -> str:
    a = conn.execute(select(A.c.row_id, A.c.answer, A.c.outcome, A.c.ended_at)
                     .where(A.c.id == attempt_id).with_for_update()).one()
    outcome = a.answer or a.outcome or "interrupted"
    if a.ended_at is None:
        conn.execute(update(A).where(A.c.id == attempt_id).values(outcome=outcome, ended_at=now))
    if a.answer:
        conn.execute(update(R).where(R.c.id == a.row_id, R.c.status != "calling").values(
            status="done", result=a.answer, next_at=None, updated_at=now))
    return outcome


def release(conn: Connection, calls: list[tuple[Attempt, Decision | None]], now: datetime) -> None:
    """Hand back attempts claimed but never dialled (ivr/campaigns/ready.py): each attempt is deleted
    and its row, still calling, is as before the claim (Decision None), or re-planned by the
    decision (its hours or deadline passed while it waited); a cancelled campaign's row is cancelled."""
    conn.execute(delete(A).where(A.c.id.in_([attempt.id for attempt, _ in calls]), A.c.ended_at.is_(None),
                                 A.c.answered_at.is_(None)))
    cancelled = set(conn.scalars(select(C.c.id).where(
        C.c.id.in_({attempt.campaign_id for attempt, _ in calls}), C.c.status == "cancelled")))
    for attempt, decision in calls:
        if attempt.campaign_id in cancelled:
            values = dict(status="cancelled", result="cancelled")
        elif decision is None:
            values = dict(status="ready")
        else:
            values = dict(status="done" if decision.final else "ready", result=decision.result,
                          next_at=decision.next_at)
        conn.execute(update(R).where(R.c.id == attempt.row_id, R.c.status == "calling").values(
            attempts=R.c.attempts - 1, claimed_by="", claim_token="", updated_at=now, **values))
