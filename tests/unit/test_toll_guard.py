"""The toll-fraud guard of trunks and staff phones: the plan's keys, the day's count from call
records, the router skipping a full trunk and refusing a full phone, the alerts at 80 and 100 %."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr.plan.loader import PlanError, load_plan_text
from ivr.plan.model import DayCap
from ivr.routing import daily
from ivr.routing.daily import DayUse, TollGuard, Use, day_use
from ivr.routing.report import read_attempts
from ivr.routing.router import NoTrunk, RouteRefused, Router
from test_routing_router import PLAN, SECRETS, Clock, Lookup

LIMITS = """limits:
  trunks: {mts: {calls_per_day: 2}, default: {minutes_per_day: 10}}
  phones: {calls_per_day: 3, extensions: {"102": {calls_per_day: 1, minutes_per_day: 5}}}
  alert_to: [boss@example.com]
"""
ROWS = [   # 101 dials twice (the second fails over from mts to default), an inbound call bridged to a hunt leg
    ',101,89161234567,from-staff,"A" <101>,PJSIP/101-1,PJSIP/trunk-mts-2,Dial,x,'
    '2026-11-25 08:00:00,2026-11-25 08:00:05,2026-11-25 08:02:05,125,120,ANSWERED,DOCUMENTATION,1.1,+79161234567',
    ',101,89161234567,from-staff,"A" <101>,PJSIP/101-3,PJSIP/trunk-mts-4,Dial,x,'
    '2026-11-25 09:00:00,,2026-11-25 09:00:01,1,0,FAILED,DOCUMENTATION,1.2,+79161234567',
    ',101,89161234567,from-staff,"A" <101>,PJSIP/101-3,PJSIP/trunk-default-5,Dial,x,'
    '2026-11-25 09:00:01,2026-11-25 09:00:02,2026-11-25 09:01:02,61,60,ANSWERED,DOCUMENTATION,1.2,+79161234567',
    ',+79031112233,+74951110001,from-trunk,"" <+7903>,PJSIP/trunk-default-6,PJSIP/trunk-mts-7,Stasis,x,'
    '2026-11-25 09:59:58,2026-11-25 09:59:58,2026-11-25 10:01:04,66,0,ANSWERED,DOCUMENTATION,1.5,;+79161234567',
]
MORNING = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


def limited(tmp_path: Path, limits: str = LIMITS):
    (tmp_path / "secrets.yaml").write_text(SECRETS)
    return load_plan_text(PLAN + limits, "plan.yaml", secrets_path=tmp_path / "secrets.yaml")


def test_plan_keys(tmp_path):
    limits = limited(tmp_path).limits
    assert limits.trunks == {"mts": DayCap(2, 0), "default": DayCap(0, 10)}
    assert limits.phone("101") == DayCap(3, 0) and limits.phone("102") == DayCap(1, 5)
    assert limits.campaign_calls == 0 and limits.alert_to == ("boss@example.com",)


@pytest.mark.parametrize("limits,message", [
    ("limits: {trunks: {mtss: {calls_per_day: 2}}}\n", "plan.yaml:16:19: limits trunks: no trunk 'mtss' in `trunks:` (did you mean 'mts'?)"),
    ("limits: {phones: {calls_per_day: -1}}\n", "plan.yaml:16:34: calls_per_day: must be at least 0"),
    ("limits: {phones: {calls: 2}}\n", "plan.yaml:16:19: limits phones: unknown key 'calls'"),
    ("limits: {phones: {extensions: {\"109\": {calls_per_day: 1}}}}\n", "plan.yaml:16:32: limits phones extensions: no staff phone '109'"),
    ("limits: {trunks: {mts: {calls_per_day: lots}}}\n", "plan.yaml:16:40: calls_per_day: expected a whole number, got 'lots'"),
])
def test_bad_plan_keys_name_file_line_and_column(tmp_path, limits, message):
    with pytest.raises(PlanError) as e:
        limited(tmp_path, limits)
    assert message in str(e.value)


def test_day_use_counts_trunk_channels_and_phone_calls():
    use = day_use(read_attempts(ROWS), MORNING)
    assert use.trunks["mts"] == Use(3, 120) and use.trunks["default"] == Use(1, 60)
    assert use.phones == {"101": Use(2, 180)}                 # one call however many trunks it tried
    assert day_use(read_attempts(ROWS), datetime(2026, 11, 25, 8, 30, tzinfo=UTC)).phones == {"101": Use(1, 60)}


async def test_router_skips_a_full_trunk_and_refuses_a_full_phone(tmp_path):
    plan = limited(tmp_path)
    use = DayUse(trunks={"mts": Use(2, 0)}, phones={"101": Use(2, 0)})

    async def usage(_plan):
        return use
    router = Router(Lookup(), lambda: plan, None, Clock(), usage=usage)  # type: ignore[arg-type]
    assert (await router.route("89161234567", phone="101", dial=True)).trunk == "default"
    use.phones["101"] = Use(3, 0)
    with pytest.raises(RouteRefused, match="phone 101 reached its daily limit"):
        await router.route("89161234567", phone="101", dial=True)
    use.trunks["default"] = Use(0, 600)                        # 10 minutes: both trunks full
    with pytest.raises(NoTrunk):
        await router.route("89161234567", phone="102", dial=True)
    assert (await router.route("89161234567")).candidates == ()   # service legs skip them too


async def test_alerts_at_80_and_100_once_a_day(tmp_path, monkeypatch):
    plan = dataclasses.replace(limited(tmp_path), company="T")
    sent = []

    async def alert(db, key, level, what, subject, text, addresses, now):
        sent.append((key, level, subject))
    monkeypatch.setattr(daily, "limit_alert", alert)
    monkeypatch.setattr(daily, "utc_now", lambda: datetime(2026, 11, 25, 12, tzinfo=UTC))
    use = DayUse(trunks={"default": Use(1, 8 * 60)}, phones={"101": Use(3, 0)})
    guard = TollGuard(lambda since: use, None, lambda: MORNING)  # type: ignore[arg-type]
    await guard.usage(plan)
    await guard.usage(plan)
    assert sorted(sent) == [("2026-11-25:phone:101:stop", "stop", "T: phone 101 остановлен, дневной лимит исчерпан (2026-11-25)"),
                            ("2026-11-25:trunk:default:alert", "alert", "T: trunk default — 80% дневного лимита (2026-11-25)")]
