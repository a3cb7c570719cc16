"""The daily campaign limit's arithmetic: shares of calls and minutes, calls left, the plan's day."""
from __future__ import annotations

from datetime import UTC, datetime

from ivr.campaigns.limits import Usage, day_start
from ivr.plan.model import DailyLimits


def test_calls_left_is_exact_and_minutes_stop_everything():
    calls = DailyLimits(campaign_calls=10)
    assert Usage(7, 0).calls_left(calls) == 3 and Usage(7, 0).share(calls) == 0.7
    assert Usage(10, 0).calls_left(calls) == 0 and Usage(12, 0).calls_left(calls) == 0
    minutes = DailyLimits(campaign_minutes=30)
    assert Usage(50, 29 * 60).calls_left(minutes) is None          # minutes left: calls not capped
    assert Usage(50, 30 * 60).calls_left(minutes) == 0
    assert Usage(4, 25 * 60).share(DailyLimits(10, 30)) == 25 / 30   # the larger share counts
    assert Usage(999, 99999).calls_left(DailyLimits()) is None        # no limits, no cap


def test_the_day_is_the_plans():
    late = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)                # 01:30 on the 26th in Moscow
    assert day_start(late, "Europe/Moscow").isoformat() == "2026-11-26T00:00:00+03:00"
    assert day_start(late, "UTC").isoformat() == "2026-11-25T00:00:00+00:00"
