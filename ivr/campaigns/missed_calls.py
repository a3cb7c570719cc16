"""What the missed-call list hears of an ended campaign call: answered long enough, it reaches the
customer and closes their open missed-call items like a call-back; unanswered, it is logged on
them as an attempt."""
from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from ivr.calls.journal import CallJournal
from ivr.campaigns.leg_end import dial_status_of
from ivr.campaigns.model import Attempt
from ivr.campaigns.store import CampaignStore
from ivr.errors import IvrError
from ivr.flows.context import Services
from ivr.missed.service import StaffCall
from ivr.plan.live import LivePlan

log = logging.getLogger(__name__)


def recording_of(a: Attempt, services: Services, live: LivePlan | None) -> str:
    """The file of an answered call of a profile that records (ivr.campaigns.flow), or ""."""
    if a.answered_at is None or services.recorder is None or live is None:
        return ""
    return services.recorder.find(a.channel_id, a.answered_at.astimezone(ZoneInfo(live.plan.timezone)))


async def tell_missed(services: Services, live: LivePlan | None, store: CampaignStore, attempt_id: int,
                      put_through: CallJournal) -> None:
    """`put_through`: the steps of the talk with a dispatcher (option 3), if any."""
    missed = services.missed
    if missed is None:
        return
    a = await store.attempt(attempt_id)
    if a.ended_at is None:
        return
    talk = (a.ended_at - a.answered_at).total_seconds() if a.answered_at else 0.0
    status = "ANSWER" if a.answered_at else dial_status_of(a.outcome)
    try:
        await missed.staff_call_ended(StaffCall(
            "", a.number, status, talk, max(talk, (a.ended_at - a.created_at).total_seconds()),
            a.channel_id, a.trunk, source="campaign", recording=recording_of(a, services, live),
            steps=tuple(put_through.steps), answered_by=put_through.answered_by or ""))
    except IvrError as e:
        log.warning("campaign call not reviewed for missed calls attempt=%s error=%s", a.id, e.message)
