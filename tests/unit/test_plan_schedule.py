"""Business hours: parsing the plan's wording, and open/closed/holiday at moments around boundaries."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ivr.errors import ConfigError
from ivr.plan.model import Closure, Schedule, TimeRange
from ivr.plan.schedule import (
    parse_date, parse_days, parse_local_datetime, parse_ranges, parse_time, schedule_state,
)

MSK = ZoneInfo("Europe/Moscow")     # UTC+3 all year, no DST since 2014


def office() -> Schedule:
    weekday = (TimeRange(time(9), time(18)),)
    return Schedule(
        name="office",
        weekly={0: weekday, 1: weekday, 2: weekday, 3: weekday, 4: weekday,
                5: (TimeRange(time(10), time(15)),), 6: ()},
        holidays={date(2026, 5, 11): "Victory Day (moved)", date(2026, 5, 10): "Sunday holiday"},
        closures=(Closure(datetime(2026, 11, 25, 12, tzinfo=MSK), datetime(2026, 11, 25, 14, tzinfo=MSK),
                          "staff meeting"),),
    )


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)


@pytest.mark.parametrize("now, state", [
    (msk(2026, 11, 23, 8, 59, 59), "closed"),      # Monday just before opening
    (msk(2026, 11, 23, 9, 0), "open"),             # the opening minute is open
    (msk(2026, 11, 23, 17, 59, 59), "open"),
    (msk(2026, 11, 23, 18, 0), "closed"),          # the end is exclusive
    (msk(2026, 11, 27, 12, 0), "open"),            # Friday
    (msk(2026, 11, 28, 9, 30), "closed"),          # Saturday opens at 10
    (msk(2026, 11, 28, 10, 0), "open"),
    (msk(2026, 11, 28, 15, 0), "closed"),
    (msk(2026, 11, 29, 12, 0), "closed"),          # Sunday
    (msk(2026, 11, 25, 11, 59), "open"),           # before the one-off closure
    (msk(2026, 11, 25, 12, 0), "closed"),          # inside it
    (msk(2026, 11, 25, 14, 0), "open"),            # its end is exclusive
    (msk(2026, 5, 11, 12, 0), "holiday"),          # a holiday during office hours
    (msk(2026, 5, 11, 0, 0), "holiday"),           # the whole local day
    (msk(2026, 5, 11, 23, 59, 59), "holiday"),
    (msk(2026, 5, 12, 9, 0), "open"),              # the day after is an ordinary Tuesday
    (msk(2026, 5, 10, 12, 0), "holiday"),          # a holiday wins on a closed day too
])
def test_state_around_boundaries(now, state):
    assert schedule_state(office(), now, MSK) == state


def test_now_in_another_zone_is_converted_to_the_plan_zone():
    # 06:00 UTC is 09:00 in Moscow; 21:30 UTC on the 10th of May is already the 11th there.
    assert schedule_state(office(), datetime(2026, 11, 23, 5, 59, tzinfo=timezone.utc), MSK) == "closed"
    assert schedule_state(office(), datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc), MSK) == "open"
    assert schedule_state(office(), datetime(2026, 5, 10, 21, 30, tzinfo=timezone.utc), MSK) == "holiday"
    assert schedule_state(office(), datetime(2026, 11, 23, 8, 0, tzinfo=ZoneInfo("Europe/Berlin")),
                          MSK) == "open"      # 08:00 CET = 10:00 MSK


def test_moscow_has_no_dst_jump():
    # Where Europe used to change clocks (last Sunday of March), Moscow stays at +3.
    monday = msk(2026, 3, 30, 9, 0)
    assert monday.utcoffset() == timedelta(hours=3)
    assert schedule_state(office(), monday, MSK) == "open"
    assert schedule_state(office(), monday - timedelta(seconds=1), MSK) == "closed"


def test_range_ending_at_midnight_includes_the_last_instant():
    s = Schedule("late", {0: (TimeRange(time(20), time.max),)}, {})
    assert schedule_state(s, msk(2026, 11, 23, 23, 59, 59, 999999), MSK) == "open"
    assert schedule_state(s, msk(2026, 11, 24, 0, 0), MSK) == "closed"


def test_naive_time_is_refused():
    with pytest.raises(ValueError):
        schedule_state(office(), datetime(2026, 11, 23, 12), MSK)


def test_parse_ranges():
    assert parse_ranges("09:00-13:00, 14:00–18:00") == (   # an en dash pasted from a document
        TimeRange(time(9), time(13)), TimeRange(time(14), time(18)))
    assert parse_ranges("14:00-18:00,9:00-13:00")[0].start == time(9)     # sorted
    assert parse_ranges("00:00-24:00") == (TimeRange(time(0), time.max),)
    assert parse_ranges("Closed") == ()


@pytest.mark.parametrize("text, message", [
    ("18:00-09:00", "ends before it starts"),
    ("09:00-09:00", "ends before it starts"),
    ("10:00-25:00", "'25:00' is not a time of day"),
    ("24:00-24:00", "'24:00' is not a time of day (00:00 to 23:59)"),
    ("09:60-10:00", "'09:60' is not a time of day"),
    ("9-18", "'9' is not a time of day like 09:00"),
    ("09:00", "is not a time range"),
    ("09:00-12:00, 11:00-13:00", "overlap"),
    ("", "is not a time range"),
])
def test_parse_ranges_refuses(text, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_ranges(text)


def test_parse_days():
    assert parse_days("mon-fri") == [0, 1, 2, 3, 4]
    assert parse_days("sat, sun") == [5, 6]
    assert parse_days("fri-mon") == [4, 5, 6, 0]
    assert parse_days("daily") == list(range(7))
    with pytest.raises(ConfigError, match="'monday' is not a day"):
        parse_days("monday")


def test_parse_time_and_dates():
    assert parse_time("7:05") == time(7, 5)
    assert parse_time("24:00", end=True) == time.max
    assert parse_date("2026-02-28") == date(2026, 2, 28)
    with pytest.raises(ConfigError):
        parse_date("2026-02-29")                       # not a leap year
    assert parse_local_datetime("2026-12-31 15:00", MSK) == msk(2026, 12, 31, 15)
    assert parse_local_datetime("2026-12-31", MSK, end=True) == msk(2027, 1, 1)
    with pytest.raises(ConfigError):
        parse_local_datetime("31.12.2026 15:00", MSK)
