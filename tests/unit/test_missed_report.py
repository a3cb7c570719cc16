"""Time-to-call-back report: median, p90, share within 15 minutes, per day and company number."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ivr.missed.report import build_report, percentile
from ivr.missed.store import MissedItem

T0 = datetime(2026, 11, 24, 20, 30, tzinfo=UTC)   # 23:30 in Moscow: the next day starts in 30 min

BASE = MissedItem(id=0, customer="+79161000001", company_number="+74951110000", source="", contact_name="",
                  status="open", count=1, short=False, reason="no_answer", node="", first_at=T0, last_at=T0,
                  voicemail="", taken_by="", taken_at=None, closed_by="", closed_at=None, close_reason="",
                  callback_seconds=None)


def closed(i: int, first: datetime, minutes: float, number: str = "+74951110000") -> MissedItem:
    return replace(BASE, id=i, first_at=first, company_number=number, status="closed",
                   closed_at=first + timedelta(minutes=minutes), callback_seconds=minutes * 60)


def test_percentile_interpolates_like_numpy():
    assert percentile([], 0.5) is None
    assert percentile([10.0], 0.9) == 10.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert abs(percentile([float(x) for x in range(1, 11)], 0.9) - 9.1) < 1e-9


def test_report_groups_by_local_day_and_number():
    items = [
        closed(1, T0, 5),                                             # 24th, Moscow
        closed(2, T0 + timedelta(minutes=10), 20),                    # 23:40 Moscow: still the 24th
        closed(3, T0 + timedelta(hours=1), 10, "+74951110001"),       # 00:30 on the 25th
        replace(BASE, id=4, first_at=T0 + timedelta(hours=2)),        # still open, 25th
        replace(closed(5, T0, 1), short=True),                        # short: left out by default
    ]
    report = build_report(items, T0, T0 + timedelta(days=1), "Europe/Moscow")
    assert (report.total.items, report.total.closed) == (4, 3)
    assert report.total.median_seconds == 600.0
    assert report.total.within_15min == 0.5                           # 5 and 10 min of 4 items
    assert [(s.group, s.items, s.closed) for s in report.by_day] == [("2026-11-24", 2, 2), ("2026-11-25", 2, 1)]
    day1 = report.by_day[0]
    assert (day1.median_seconds, day1.within_15min) == (750.0, 0.5)
    assert abs(day1.p90_seconds - 1110.0) < 1e-9        # 300 + 0.9 * (1200 - 300)
    assert [(s.group, s.items) for s in report.by_number] == [("+74951110000", 3), ("+74951110001", 1)]
    assert build_report(items, T0, T0, "Europe/Moscow", include_short=True).total.items == 5
