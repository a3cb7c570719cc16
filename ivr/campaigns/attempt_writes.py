"""What every campaign call writes (answered, its answer, a failover, its end), as synchronous
transactions that `Database.run` runs in one hop.

On SQLite the write lock is held from a transaction's first write to its commit. Through the
async engine every statement of a transaction is a hop between the event loop and aiosqlite's
thread, so at 150 campaign calls a transaction kept the lock for several turns of a busy loop:
writers queued behind it for seconds (a freed slot waited 5 s for its next INVITE, bench_campaign)
and some gave up after the 15 s busy timeout ("database is locked"). Run by `Database.run`, the
whole transaction is one piece of work in the runner's thread, and the lock is held for the
statements alone. On PostgreSQL the same functions run on the async engine's connection.

Each function gets a Session on the runner's connection and leaves the commit to the runner, which
may commit several calls' work together; so none of them rolls back (nothing is written when they
return early).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ivr.campaigns.model import Attempt
from ivr.campaigns.rows import Decide, answer_payload, attempt_of, row_of
from ivr.campaigns.scheduler import Decision
from ivr.notify.outbox import enqueue_in
from ivr.store.models import CampaignAttemptRow, CampaignEntryRow, CampaignRecordRow, DoNotCallRow


def set_values(s: Session, attempt_id: int, condition, values: dict) -> None:
    s.execute(update(CampaignAttemptRow).where(CampaignAttemptRow.id == attempt_id, condition).values(**values))


def store_answer(s: Session, attempt_id: int, digit: str, action: str, now: datetime, webhook: str) -> bool:
    res = s.execute(update(CampaignAttemptRow).where(
        CampaignAttemptRow.id == attempt_id, CampaignAttemptRow.answer == "")
        .values(digit=digit, answer=action, answer_at=now))
    if not res.rowcount:
        return False                    # answered before: nothing was written
    if webhook:
        a = s.get_one(CampaignAttemptRow, attempt_id)
        r = s.get_one(CampaignEntryRow, a.row_id)
        key = f"webhook:campaign{a.campaign_id}:attempt{a.id}:{webhook}"
        enqueue_in(s, key, "webhook", webhook, answer_payload(a, r, key), now)
    return True


def fail_over(s: Session, attempt_id: int, channel_id: str, new_channel_id: str, trunk: str) -> Attempt | None:
    a = s.get(CampaignAttemptRow, attempt_id)
    if a is None:
        return None
    res = s.execute(update(CampaignAttemptRow).where(
        CampaignAttemptRow.id == attempt_id, CampaignAttemptRow.channel_id == channel_id,
        CampaignAttemptRow.ended_at.is_(None), CampaignAttemptRow.answered_at.is_(None),
        # a row marked done by hand meanwhile is not dialled again
        CampaignAttemptRow.row_id.in_(select(CampaignEntryRow.id).where(
            CampaignEntryRow.id == a.row_id, CampaignEntryRow.status == "calling")))
        .values(channel_id=new_channel_id, trunk=trunk, tried=[*(a.tried or ()), a.trunk])
        .execution_options(synchronize_session=False))
    if not res.rowcount:
        return None
    s.refresh(a)
    return attempt_of(a)


def finish(s: Session, attempt_id: int, ended_outcome: str, now: datetime, decide: Decide) -> str | None:
    a = s.get(CampaignAttemptRow, attempt_id, with_for_update=True)
    if a is None or a.ended_at is not None:
        return None
    outcome = a.answer or a.outcome or ("interrupted" if a.answered_at else ended_outcome)
    a.outcome, a.ended_at = outcome, now
    s.flush()
    r = s.get(CampaignEntryRow, a.row_id, with_for_update=True)
    if r is not None and r.status == "calling":
        rows = s.execute(select(CampaignAttemptRow.outcome, func.count()).where(
            CampaignAttemptRow.row_id == r.id, CampaignAttemptRow.ended_at.is_not(None))
            .group_by(CampaignAttemptRow.outcome)).all()
        counts = {o: n for o, n in rows}
        campaign = s.get(CampaignRecordRow, r.campaign_id)
        decision = decide(outcome, counts, r.attempts, row_of(r))
        if campaign is not None and campaign.status == "cancelled" and not decision.final:
            decision = Decision(True, "cancelled")
        if not decision.final and s.get(DoNotCallRow, r.phone) is not None:
            decision = Decision(True, "do_not_call")     # listed while this call was made
        r.status = "done" if decision.final else "ready"
        r.result = decision.result
        r.next_at = decision.next_at
        r.claimed_by, r.claim_token, r.updated_at = "", "", now
    return outcome


def inbound_attempt(s: Session, row_id: int, campaign_id: int, number: str, channel_id: str, instance: str,
                    now: datetime) -> Attempt:
    a = CampaignAttemptRow(row_id=row_id, campaign_id=campaign_id, number=number, channel_id=channel_id,
                           trunk="inbound", instance=instance, created_at=now, answered_at=now)
    s.add(a)
    s.flush()
    return attempt_of(a)


def finish_callback(s: Session, attempt_id: int, now: datetime) -> str:
    a = s.get_one(CampaignAttemptRow, attempt_id, with_for_update=True)
    outcome = a.answer or a.outcome or "interrupted"
    if a.ended_at is None:
        a.outcome, a.ended_at = outcome, now
    r = s.get(CampaignEntryRow, a.row_id, with_for_update=True)
    if a.answer and r is not None and r.status != "calling":
        r.status, r.result, r.next_at, r.updated_at = "done", a.answer, None, now
    return outcome
