"""The router without Asterisk: failover rule, live counts, rate limits, class of service, the
plan's trunk section and the trunk report."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ivr.plan.loader import PlanError, load_plan_text
from ivr.routing.failover import should_fail_over, sip_code
from ivr.routing.lookup import CarrierInfo
from ivr.routing.numbers import InvalidNumber
from ivr.routing.report import read_attempts, summarize
from ivr.routing.router import ChannelCounter, NoTrunk, RateLimiter, RouteRefused, Router, trunk_of_channel

PLAN = """
company: T
timezone: Europe/Moscow
country: RU
language: ru
staff:
  "101": {name: A}
  "102": {name: B, dial: [mobile, international], dial_per_hour: 2}
trunks:
  default: {host: "127.0.0.11", caller_id: "+74951110000", default: yes, international: yes, cost: {mobile: 2.4, landline: 1.1, international: 12}}
  mts: {host: "127.0.0.13:5062", caller_id: "+74951110000", carriers: [mts], capacity: 1, cost: {onnet: 0, mobile: 2.0}, calls_per_minute: 1}
numbers:
  "+74951110000": {entry: bye}
nodes:
  bye: {type: hangup}
"""
SECRETS = 'staff: {"101": {password: secret-101-x}, "102": {password: secret-102-x}}\n' \
          'trunks: {mts: {username: gw1, password: gw-secret-1}}\n'


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Lookup:
    """Carrier by the number's code, as the registry would say."""
    def lookup(self, number: str) -> CarrierInfo:
        carrier = {"916": "mts", "926": "megafon"}.get(number[2:5])
        return CarrierInfo(number, carrier, "registry" if carrier else "unknown", "", "", "Europe/Moscow")

    def refresh(self) -> bool:
        return False


@pytest.fixture
def plan(tmp_path: Path):
    (tmp_path / "secrets.yaml").write_text(SECRETS)
    return load_plan_text(PLAN, "plan.yaml", secrets_path=tmp_path / "secrets.yaml")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def router(plan, clock) -> Router:
    return Router(Lookup(), lambda: plan, None, clock)  # type: ignore[arg-type]


@pytest.mark.parametrize("status,tech,cause,expected", [
    ("CONGESTION", "SIP 503 Service Unavailable", None, True),
    ("CHANUNAVAIL", "SIP 408 Request Timeout", None, True),
    ("CHANUNAVAIL", "", None, True),                 # no answer from the trunk at all
    ("CHANUNAVAIL", "", 34, True),                   # "all circuits busy"
    ("BUSY", "SIP 486 Busy Here", None, False),
    ("CHANUNAVAIL", "SIP 404 Not Found", None, False),
    ("CHANUNAVAIL", "SIP 480 Temporarily Unavailable", None, False),
    ("NOANSWER", "", None, False),
    ("NOANSWER", "", 18, True),                      # PJSIP's cause for 408 / no response
    ("CHANUNAVAIL", "", 1, False),                   # PJSIP's cause for 404: the callee's
    ("", "", 34, True),                              # only a hangup cause known (a service-started leg)
    ("", "", 19, False),                             # 480
    ("", "", 16, False),                             # a normal hangup
    ("ANSWER", "", None, False),
])
def test_fail_over_only_on_the_trunks_trouble(status, tech, cause, expected):
    assert should_fail_over(status, sip_code(tech), cause) is expected


def test_trunk_of_channel():
    assert trunk_of_channel("PJSIP/trunk-gsm-mts-0000001a") == "gsm-mts"
    assert trunk_of_channel("PJSIP/101-00000002") is None
    assert trunk_of_channel("Local/x@y-00000001;1") is None


def test_counter_reservation_ends_when_the_channel_shows_or_times_out(clock):
    counter = ChannelCounter(clock)
    counter.update(["PJSIP/trunk-mts-00000001", "PJSIP/101-00000002"])
    counter.reserve("mts", seconds=1.0)
    assert counter.counts() == {"mts": 2}
    counter.update(["PJSIP/trunk-mts-00000001", "PJSIP/trunk-mts-00000003"])
    assert counter.counts() == {"mts": 2}            # the reserved channel is now live, not twice
    counter.reserve("mts", seconds=1.0)
    clock.now += 1.5
    assert counter.counts() == {"mts": 2}


def test_rate_limiter_sliding_window(clock):
    rates = RateLimiter(clock)
    for _ in range(2):
        assert rates.allowed("k", 2, 60)
        rates.record("k")
    assert not rates.allowed("k", 2, 60)
    clock.now += 61
    assert rates.allowed("k", 2, 60)
    assert rates.allowed("other", 0, 60)            # 0: no limit


def test_plan_trunks_carry_routing_fields_and_secrets(plan):
    mts = plan.trunks["mts"]
    assert (mts.carriers, mts.capacity, mts.cost_onnet, mts.cost_mobile, mts.cost_landline) == (("mts",), 1, 0.0, 2.0, None)
    assert (mts.username, mts.password, mts.calls_per_minute) == ("gw1", "gw-secret-1", 1)
    assert plan.staff["101"].dial == ("internal", "local", "mobile", "long_distance")
    assert plan.staff["102"].dial == ("internal", "mobile", "international")


def test_several_trunks_need_prices(tmp_path):
    (tmp_path / "secrets.yaml").write_text(SECRETS)
    text = PLAN.replace(", cost: {onnet: 0, mobile: 2.0}", "")
    with pytest.raises(PlanError) as e:
        load_plan_text(text, "plan.yaml", secrets_path=tmp_path / "secrets.yaml")
    assert "plan.yaml:11:" in e.value.message and "needs cost" in e.value.message


def test_on_net_first_then_next_cheapest_when_full(router):
    assert [c.trunk.name for c in router.decide("8 916 123-45-67").candidates] == ["mts", "default"]
    assert router.endpoint_for("+79161234567") == "PJSIP/+79161234567@trunk-mts"
    # mts's one channel is reserved by that decision (and its per-minute limit is used).
    assert router.decide("89161234568").trunk == "default"


def test_class_of_service(router):
    for dialled in ("+493012345678", "00493012345678", "810493012345678"):
        with pytest.raises(RouteRefused, match="international"):
            router.decide(dialled, phone="101")                   # international is off by default
        assert router.decide(dialled, phone="102").trunk == "default"
    with pytest.raises(RouteRefused, match="long-distance"):
        router.decide("+73832123456", phone="102")
    with pytest.raises(RouteRefused):
        router.decide("89161234567", phone="999")


@pytest.mark.parametrize("raw", ["8916123&4567", "8916,1234567", "8916ABC4567", "101"])
def test_odd_numbers_refused(router, raw):
    with pytest.raises((InvalidNumber, RouteRefused)):
        router.decide(raw, phone="101")


async def test_phone_rate_limit_and_no_trunk(router):
    await router.route("89261234567", phone="102", dial=True)
    await router.route("89261234567", phone="102", dial=True)
    with pytest.raises(RouteRefused, match="limit of 2"):
        await router.route("89261234567", phone="102", dial=True)
    assert (await router.route("+74951234567", phone="101", dial=True)).trunk == "default"


def test_no_trunk_when_every_one_is_full(plan, clock):
    full = dataclasses.replace(plan, trunks={**plan.trunks, "default": dataclasses.replace(
        plan.trunks["default"], capacity=1)})
    router = Router(Lookup(), lambda: full, None, clock)  # type: ignore[arg-type]
    router.channels.update(["PJSIP/trunk-default-00000001"])
    with pytest.raises(NoTrunk):
        router.endpoint_for("+74951234567")                 # landlines: only the default carries them


def test_report_minutes_cost_and_saving(plan):
    rows = [
        ',101,89161234567,from-staff,"A" <101>,PJSIP/101-1,PJSIP/trunk-mts-2,Dial,x,'
        '2026-11-25 08:00:00,2026-11-25 08:00:05,2026-11-25 08:02:05,125,120,ANSWERED,DOCUMENTATION,1.1,+79161234567',
        ',101,89261234567,from-staff,"A" <101>,PJSIP/101-3,PJSIP/trunk-default-4,Dial,x,'
        '2026-11-25 09:00:00,,2026-11-25 09:00:10,10,0,NO ANSWER,DOCUMENTATION,1.2,+79261234567',
        ',,+74951110000,from-trunk,"" <+7916>,PJSIP/trunk-mts-5,,Stasis,x,'
        '2026-11-25 09:00:00,2026-11-25 09:00:00,2026-11-25 09:01:00,60,60,ANSWERED,DOCUMENTATION,1.3,',
    ]
    attempts = list(read_attempts(rows))
    assert [(a.trunk, a.number, a.answered, a.seconds) for a in attempts] == [
        ("mts", "+79161234567", True, 120), ("default", "+79261234567", False, 0)]
    report = summarize(attempts, plan, Lookup())
    assert report["trunks"] == [
        {"trunk": "default", "calls": 1, "answered": 0, "minutes": 0.0, "cost": 0.0, "saving": 0.0},
        {"trunk": "mts", "calls": 1, "answered": 1, "minutes": 2.0, "cost": 0.0, "saving": 4.8}]
    assert [(r["carrier"], r["saving"]) for r in report["carriers"]] == [("megafon", 0.0), ("mts", 4.8)]
    assert (report["cost"], report["default_cost"], report["saving"]) == (0.0, 4.8, 4.8)
    later = summarize(attempts, plan, Lookup(), since=datetime(2026, 11, 25, 8, 30, tzinfo=timezone.utc))
    assert [r["trunk"] for r in later["trunks"]] == ["default"]
    earlier = summarize(attempts, plan, Lookup(), until=datetime(2026, 11, 25, 8, 30, tzinfo=timezone.utc))
    assert [r["trunk"] for r in earlier["trunks"]] == ["mts"] and earlier["until"] == "2026-11-25T08:30:00+00:00"


def test_report_counts_legs_the_service_starts_once(plan):
    rows = [   # a hunt leg's own record, and the inbound call it was bridged to naming it
        ',,+79161234567,default,"" <>,PJSIP/trunk-mts-7,,AppDial,x,'
        '2026-11-25 10:00:00,2026-11-25 10:00:04,2026-11-25 10:01:04,64,60,ANSWERED,DOCUMENTATION,1.4,+79161234567',
        ',+79031112233,+74951110001,from-trunk,"" <+7903>,PJSIP/trunk-default-6,PJSIP/trunk-mts-7,Stasis,x,'
        '2026-11-25 09:59:58,2026-11-25 09:59:58,2026-11-25 10:01:04,66,0,ANSWERED,DOCUMENTATION,1.5,;+79161234567',
        # a hunt leg refused by its trunk (503), then tried on the next
        ',,+79161234567,default,"" <>,PJSIP/trunk-default-8,,AppDial,x,'
        '2026-11-25 11:00:00,,2026-11-25 11:00:01,1,0,FAILED,DOCUMENTATION,1.6,+79161234567',
    ]
    attempts = sorted((a.trunk, a.answered, a.seconds) for a in read_attempts(rows))
    assert attempts == [("default", False, 0), ("mts", True, 60)]


def test_a_channel_name_used_again_after_an_asterisk_restart_is_another_attempt(plan):
    rows = [   # Asterisk numbers its channels from 1 again after a restart: the same name, hours apart
        ',101,89161234567,from-staff,"A" <101>,PJSIP/101-1,PJSIP/trunk-mts-2,Dial,x,'
        '2026-11-25 08:00:00,2026-11-25 08:00:05,2026-11-25 08:01:05,65,60,ANSWERED,DOCUMENTATION,1.1,+79161234567',
        ',101,89161234567,from-staff,"A" <101>,PJSIP/101-1,PJSIP/trunk-mts-2,Dial,x,'
        '2026-11-25 12:00:00,2026-11-25 12:00:05,2026-11-25 12:00:35,35,30,ANSWERED,DOCUMENTATION,9.1,+79161234567',
    ]
    attempts = sorted((a.trunk, a.seconds) for a in read_attempts(rows))
    assert attempts == [("mts", 30), ("mts", 60)]


def test_a_leg_presents_its_caller_id_in_the_trunks_number_format(tmp_path, clock):
    (tmp_path / "secrets.yaml").write_text(SECRETS)
    national = PLAN.replace("calls_per_minute: 1}", "calls_per_minute: 1, sip: {number_format: national}}")
    router = Router(Lookup(), lambda: load_plan_text(national, "plan.yaml", secrets_path=tmp_path / "secrets.yaml"),
                    None, clock)  # type: ignore[arg-type]
    # A forwarded caller keeps name and number, written as the carrier wants it.
    assert router.caller_id_on("mts", '"Иванов" <+79161234567>') == '"Иванов" <89161234567>'
    assert router.caller_id_on("mts", "+79161234567") == "89161234567"
    # Nothing given, or an extension: the trunk's own caller ID (the company number).
    assert router.caller_id_on("mts") == "84951110000"
    assert router.caller_id_on("mts", '"Dispatcher" <101>') == "84951110000"
    assert router.caller_id_on("default", "+79161234567") == "+79161234567"
    assert router.caller_id_on("unknown", "+79161234567") == "+79161234567"
