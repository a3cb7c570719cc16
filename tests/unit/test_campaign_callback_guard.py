"""A passenger calling back is recognised only when the campaign profiles can be read: a campaigns.yaml
that no longer fits the live plan must leave the call to the plan, never fail it; their call is the
dialer's own while it runs."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from ivr.ari.bus import EventBus
from ivr.campaigns.callback import CampaignCallback
from ivr.campaigns.dialer import CampaignDialer
from ivr.campaigns.model import Passenger
from ivr.campaigns.scheduler import Decision
from ivr.campaigns.store import CampaignStore
from ivr.config import load_settings
from ivr.plan.errors import PlanError, Problem
from ivr.store import open_database

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


class BrokenProfiles:
    store = None

    def profiles(self):
        raise PlanError([Problem("campaigns.yaml", 24, 17, "profile 'confirm' dispatcher: 'dispatch' is not a hunt "
                                                          "or queue node of the plan")])


async def test_unreadable_profiles_leave_the_call_to_the_plan():
    ctx = SimpleNamespace(caller="+79261234591", company_number="+74951110001",
                          call=SimpleNamespace(channel_id="c1"), plan=SimpleNamespace(trunks={}))
    assert await CampaignCallback(BrokenProfiles())(ctx) is False


async def test_a_caller_who_cannot_be_a_passenger_is_not_looked_up():
    # the number called is not one campaign calls present: nothing to run in the call's first hop,
    # and the call-back takes that answer (its store, None here, is never asked)
    dialer = SimpleNamespace(store=None, profiles=lambda: {})
    ctx = SimpleNamespace(caller="+79261234591", company_number="+74951110001", now=lambda: NOW,
                          call=SimpleNamespace(channel_id="c1"), plan=SimpleNamespace(trunks={}))
    looked_up = CampaignCallback(dialer).lookup(ctx)
    assert looked_up.done and looked_up.found is None
    assert await CampaignCallback(dialer)(ctx, looked_up) is False


async def test_a_reconcile_during_a_passengers_call_back_leaves_their_attempt_alone(tmp_path):
    # Seen on a loaded machine: the dialer's periodic reconcile took the passenger's own call for an
    # attempt left by a restart, watched it too, and ended it without its answer.
    db = await open_database(f"sqlite+aiosqlite:///{tmp_path}/ivr.db")
    try:
        store = CampaignStore(db)
        campaign = await store.create("c", "confirm", "confirm", NOW)
        passenger = Passenger(name="P", phone="+79161000000", trip_id="T", departure=NOW + timedelta(hours=5))
        await store.add_rows(campaign.id, [(passenger, "Europe/Moscow", Decision(False, "", NOW))], NOW)
        [row] = await store.rows(campaign.id)
        ari = SimpleNamespace(get_channel=lambda channel_id: asyncio.sleep(0))      # the call is up
        dialer = CampaignDialer(store, settings=load_settings(env={}), ari=ari, bus=EventBus(), plans=None,
                                catalog=None, now=lambda: NOW, supervisor=None, services=None)  # type: ignore[arg-type]
        async with dialer.inbound_attempt(row, "inbound-1", NOW) as attempt:
            await dialer.reconcile()
            assert attempt.id not in dialer.watchers and attempt.id in dialer.owned
        assert attempt.id not in dialer.owned
        await dialer.stop()
    finally:
        await db.close()
