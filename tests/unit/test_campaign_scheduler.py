"""When passengers are called: callee's local hours, holidays, deadline, retry delays and limits."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from ivr.campaigns.config import default_profiles
from ivr.campaigns.model import Passenger, RetryRule
from ivr.campaigns.scheduler import after_attempt, callee_timezone, callee_zone, holidays_of, next_call_time, plan_first
from ivr.plan import schedule as sched
from ivr.plan.model import Plan, Schedule

UTC = timezone.utc
PROFILE = replace(default_profiles()["confirm"],
                  retry={"busy": RetryRule(300, 3), "no_answer": RetryRule(1800, 2)}, max_attempts=4)


def passenger(departure: datetime | None) -> Passenger:
    return Passenger(name="Ivan", phone="+79131234567", trip_id="T1", departure=departure)


def plan(holidays: dict[date, str] | None = None) -> Plan:
    office = Schedule("office", {d: sched.parse_ranges("09:00-18:00") for d in range(5)}, holidays or {})
    return Plan(company="c", timezone="Europe/Moscow", country="RU", language="ru", languages=("ru",),
                ring_seconds=5, short_call_seconds=3, numbers={}, schedules={"office": office}, staff={},
                fallback=(), nodes={})


def test_novosibirsk_passenger_is_not_called_before_nine_local_time():
    # 08:00 in Moscow is 12:00 in Novosibirsk, but 04:00 Moscow is 08:00 there
    now = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)      # 04:00 MSK, 08:00 Novosibirsk
    first = plan_first(passenger(None), "Asia/Novosibirsk", PROFILE, (), now)
    assert first.next_at == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)      # 09:00 +07
    moscow = plan_first(passenger(None), "Europe/Moscow", PROFILE, (), now)
    assert moscow.next_at == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)     # 09:00 +03


def test_after_hours_moves_to_the_next_morning():
    now = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)     # 22:00 MSK, past 21:00
    decision = plan_first(passenger(None), "Europe/Moscow", PROFILE, (), now)
    assert decision.next_at == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def test_no_calls_on_the_plans_holidays_unless_allowed():
    p = plan({date(2026, 11, 4): "Unity Day"})
    now = datetime(2026, 11, 4, 8, 0, tzinfo=UTC)
    days_off = holidays_of(p, PROFILE)
    assert days_off == {date(2026, 11, 4)}
    assert plan_first(passenger(None), "Europe/Moscow", PROFILE, days_off, now).next_at \
        == datetime(2026, 11, 5, 6, 0, tzinfo=UTC)
    allowed = replace(PROFILE, call_on_holidays=True)
    assert holidays_of(p, allowed) == frozenset()
    assert plan_first(passenger(None), "Europe/Moscow", allowed, holidays_of(p, allowed), now).next_at == now


def test_deadline_is_departure_minus_n_hours():
    departure = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)           # 15:00 MSK
    profile = replace(PROFILE, deadline_hours=3)
    assert plan_first(passenger(departure), "Europe/Moscow", profile, (),
                      datetime(2026, 11, 25, 8, 59, tzinfo=UTC)).next_at is not None
    late = plan_first(passenger(departure), "Europe/Moscow", profile, (), datetime(2026, 11, 25, 9, 1, tzinfo=UTC))
    assert late.final and late.result == "expired"
    # the only allowed time would be after the deadline: nothing left
    early = plan_first(passenger(departure), "Europe/Moscow", profile, (),
                       datetime(2026, 11, 25, 3, 0, tzinfo=UTC))     # 06:00 MSK, hours open at 09:00
    assert early.next_at == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    tight = replace(profile, deadline_hours=6)                       # deadline 09:00 MSK exactly
    assert plan_first(passenger(departure), "Europe/Moscow", tight, (),
                      datetime(2026, 11, 25, 6, 30, tzinfo=UTC)).result == "expired"


def test_retry_delay_and_limit_per_outcome():
    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)                   # 11:00 MSK
    p = passenger(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    busy = after_attempt("busy", {"busy": 1}, 1, p, "Europe/Moscow", PROFILE, (), now)
    assert not busy.final and busy.next_at == now + timedelta(minutes=5)
    no_answer = after_attempt("no_answer", {"no_answer": 1}, 1, p, "Europe/Moscow", PROFILE, (), now)
    assert no_answer.next_at == now + timedelta(minutes=30)
    spent = after_attempt("no_answer", {"no_answer": 2}, 2, p, "Europe/Moscow", PROFILE, (), now)
    assert spent.final and spent.result == "no_answer"
    capped = after_attempt("busy", {"busy": 2, "no_answer": 2}, 4, p, "Europe/Moscow", PROFILE, (), now)
    assert capped.final
    answered = after_attempt("confirm", {"confirm": 1}, 1, p, "Europe/Moscow", PROFILE, (), now)
    assert answered.final and answered.result == "confirm"
    unknown = after_attempt("gone", {"gone": 1}, 1, p, "Europe/Moscow", PROFILE, (), now)
    assert unknown.final


def test_retry_waits_for_hours_and_respects_deadline():
    evening = datetime(2026, 11, 25, 17, 50, tzinfo=UTC)              # 20:50 MSK
    p = passenger(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    d = after_attempt("no_answer", {"no_answer": 1}, 1, p, "Europe/Moscow", PROFILE, (), evening)
    assert d.next_at == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    soon = passenger(datetime(2026, 11, 25, 18, 0, tzinfo=UTC))      # deadline 15:00 UTC
    assert after_attempt("busy", {"busy": 1}, 1, soon, "Europe/Moscow", PROFILE, (),   # retry at 15:03
                         datetime(2026, 11, 25, 14, 58, tzinfo=UTC)).final


def test_callee_zone_from_lookup_else_plan():
    class Lookup:
        def __init__(self, zone):
            self.zone = zone

        def lookup(self, number):
            return type("Info", (), {"timezone": self.zone})()

    assert callee_timezone("+79131234567", plan(), Lookup("Asia/Novosibirsk")) == "Asia/Novosibirsk"
    assert callee_timezone("+79131234567", plan(), Lookup("")) == "Europe/Moscow"
    assert callee_timezone("+79131234567", plan(), Lookup("Mars/Olympus")) == "Europe/Moscow"
    assert callee_timezone("+79131234567", plan(), None) == "Europe/Moscow"


def test_next_call_time_none_when_no_hours_at_all():
    closed = replace(PROFILE, hours={d: () for d in range(7)})
    assert next_call_time(datetime(2026, 11, 25, tzinfo=UTC), "Europe/Moscow", closed, (), None) is None


def test_a_zone_that_fell_back_to_the_plans_says_why():
    class Lookup:
        def __init__(self, zone, region, ranges):
            self.zone, self.region, self.counts = zone, region, {"ranges": ranges}

        def lookup(self, number):
            return type("Info", (), {"timezone": self.zone, "region": self.region})()

    assert callee_zone("+79131234567", plan(), Lookup("Asia/Novosibirsk", "Новосибирская обл.", 10)) == \
        ("Asia/Novosibirsk", "")
    # without the registry, phonenumbers says "Moscow" for every Russian mobile: not to be trusted
    zone, why = callee_zone("+79131234567", plan(), Lookup("Europe/Moscow", "", 0))
    assert zone == "Europe/Moscow" and "not imported" in why
    assert "not in the numbering registry" in callee_zone("+79131234567", plan(), Lookup("Europe/Moscow", "", 9))[1]
    # a country of one zone needs no registry
    assert callee_zone("+375291234567", plan(), Lookup("Europe/Minsk", "", 0)) == ("Europe/Minsk", "")
    assert callee_zone("+79131234567", plan(), None)[1]
