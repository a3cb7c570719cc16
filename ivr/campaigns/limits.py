"""The toll-fraud guard of campaigns: the plan's `limits:` caps the outbound calls and minutes all
campaigns together may use a day (midnight to midnight in the plan's time zone). At ALERT_SHARE of
either an alert mail goes to `alert_to`; at the limit no further call starts and every running
campaign is paused (an operator resumes it, tomorrow or after raising the limit).

Calls are counted when they are claimed, so the call limit is exact; minutes are counted when a call
ends, so calls in flight at the moment the minute limit is reached still finish."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ivr import i18n
from ivr.campaigns.store import CampaignStore
from ivr.i18n import _
from ivr.plan.model import DailyLimits, Plan
from ivr.security.toll_alert import ALERT_SHARE, day_start, limit_alert
from ivr.store.db import Database
from ivr.store.models import CampaignAttemptRow


@dataclass(frozen=True)
class Usage:
    calls: int
    seconds: float

    def share(self, limits: DailyLimits) -> float:
        """The larger of the used shares of the call and the minute limit (0 when neither is set)."""
        shares = [self.calls / limits.campaign_calls if limits.campaign_calls else 0.0,
                  self.seconds / 60 / limits.campaign_minutes if limits.campaign_minutes else 0.0]
        return max(shares)

    def calls_left(self, limits: DailyLimits) -> int | None:
        """Calls campaigns may still start today; None without limits."""
        if not limits.campaign_calls and not limits.campaign_minutes:
            return None
        if self.share(limits) >= 1:
            return 0
        return limits.campaign_calls - self.calls if limits.campaign_calls else None


async def usage_since(db: Database, since: datetime) -> Usage:
    async with db.session() as session:
        rows = (await session.execute(select(CampaignAttemptRow.answered_at, CampaignAttemptRow.ended_at)
                                      .where(CampaignAttemptRow.created_at >= since))).all()
    seconds = sum((ended - answered).total_seconds() for answered, ended in rows if answered and ended)
    return Usage(len(rows), seconds)


class DailyLimit:
    """Asked by the dialer before each round: how many calls may start now."""

    def __init__(self, store: CampaignStore):
        self.store = store
        self._told: set[str] = set()          # "day:level" alerts already sent by this process

    async def calls_left(self, plan: Plan, now: datetime) -> int | None:
        limits = plan.limits
        if not limits.campaign_calls and not limits.campaign_minutes:
            return None
        start = day_start(now, plan.timezone)
        usage = await usage_since(self.store.db, start)
        share = usage.share(limits)
        if share >= ALERT_SHARE:
            await self._alert(plan, start, usage, "stop" if share >= 1 else "alert", now)
        return usage.calls_left(limits)

    async def _alert(self, plan: Plan, day: datetime, usage: Usage, level: str, now: datetime) -> None:
        key = f"{day.date().isoformat()}:{level}"
        if key in self._told:
            return
        self._told.add(key)
        limits = plan.limits
        with i18n.language(plan.language):         # an alert mail speaks the plan's language
            what = _("%(calls)s of %(cap)s calls and %(minutes)s of %(cap_minutes)s minutes", calls=usage.calls,
                     cap=limits.campaign_calls or _("unlimited"), minutes=f"{usage.seconds / 60:.0f}",
                     cap_minutes=limits.campaign_minutes or _("unlimited"))
            if level == "stop":
                subject = _("%(company)s: campaigns stopped, daily limit reached (%(day)s)", company=plan.company,
                            day=day.date())
                text = _("Campaign calls today: %(what)s. No further campaign call starts today; running campaigns "
                         "are paused. Resume them tomorrow, or raise `limits` in the plan.", what=what) + "\n"
            else:
                subject = _("%(company)s: campaigns at %(share)s of the daily limit (%(day)s)", company=plan.company,
                            share=f"{usage.share(limits):.0%}", day=day.date())
                text = _("Campaign calls today: %(what)s. At 100 %% campaigns stop until tomorrow.", what=what) + "\n"
        await limit_alert(self.store.db, key, level, f"campaigns: {what}", subject, text, limits.alert_to, now)
