"""The database's campaign rows as the plain data of model.py, and what an answer's webhook carries."""
from __future__ import annotations

from collections.abc import Callable

from ivr.campaigns.model import Attempt, Campaign, Passenger, Row
from ivr.campaigns.scheduler import Decision
from ivr.store.models import CampaignAttemptRow, CampaignEntryRow, CampaignRecordRow

# How an ended attempt's row goes on: (outcome, outcomes so far by count, attempts, row) -> decision.
Decide = Callable[[str, dict[str, int], int, Row], Decision]


def campaign_of(r: CampaignRecordRow) -> Campaign:
    return Campaign(r.id, r.name, r.kind, r.profile, r.status, r.created_at, r.dispatcher)


def row_of(r: CampaignEntryRow) -> Row:
    p = Passenger(name=r.name, phone=r.phone, trip_id=r.trip_id, route=r.route, departure=r.departure,
                  timezone=r.trip_timezone or "", seat=r.seat, bus=r.bus, platform=r.platform, language=r.language, raw_phone=r.raw_phone,
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


def attempt_of(a: CampaignAttemptRow) -> Attempt:
    return Attempt(a.id, a.row_id, a.campaign_id, a.number, a.channel_id, a.trunk, a.instance, a.created_at,
                   a.answered_at, a.ended_at, a.outcome, a.digit, a.answer, a.answer_at, tuple(a.tried or ()))
