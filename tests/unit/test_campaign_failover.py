"""Failover of a campaign leg within its attempt: which leg ends are the trunk's (the causes the PBX
reports, seen on real SIP: 503 -> 34, 408 -> 18, 500 -> 38; 486 -> 17, 480 and the ring timeout
-> 19, 404 -> 1, 603 -> 21), and the attempt moving to its next leg exactly once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from ivr.ari.events import ChannelDestroyed, ChannelInfo, ChannelStateChange
from ivr.campaigns.channel_ids import failover_channel_id
from ivr.campaigns.dialer import CampaignDialer
from ivr.campaigns.leg_end import LegEnd
from ivr.campaigns.scheduler import Decision
from ivr.campaigns.store import CampaignStore
from test_campaign_store import claim, seeded

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("dialstatus,cause", [
    ("CONGESTION", 34),          # 503 before ringing
    ("NOANSWER", 34),            # 503 after 180 Ringing
    ("NOANSWER", 18),            # 408
    ("NOANSWER", 38),            # 500
    ("NOANSWER", 102),           # 504
])
def test_the_trunks_trouble_fails_over(dialstatus, cause):
    assert LegEnd(cause, dialstatus).trunk_failed


@pytest.mark.parametrize("dialstatus,cause", [
    ("BUSY", 17),                # 486
    ("RINGING", 19),             # our ring time ran out
    ("NOANSWER", 19),            # 480
    ("NOANSWER", 1),             # 404
    ("NOANSWER", 21),            # 603
    ("", 16),                    # answered and hung up
])
def test_the_callees_own_answer_never_fails_over(dialstatus, cause):
    assert not LegEnd(cause, dialstatus).trunk_failed


def test_an_answered_leg_or_one_gone_unseen_never_fails_over():
    assert not LegEnd(34, "CONGESTION", answered=True).trunk_failed
    assert not LegEnd(None, "CONGESTION").trunk_failed          # gone while we were away: "lost"


async def test_an_attempt_moves_to_its_next_leg_once_and_keeps_the_tried_trunks(db):
    store = CampaignStore(db)
    cid = await seeded(store, 2)
    (_, attempt), (_, other) = await claim(store, cid, "a", 2)
    second = await store.fail_over(attempt.id, attempt.channel_id, failover_channel_id("", attempt), "tele2")
    assert second is not None
    assert (second.channel_id, second.trunk, second.tried) == (
        f"camp-{cid}-{attempt.row_id}-a{attempt.id}-1", "tele2", ("default",))
    # a second move from the same failed leg (a racing watcher) dials nothing
    assert await store.fail_over(attempt.id, attempt.channel_id, "other-id", "mts") is None
    third = await store.fail_over(attempt.id, second.channel_id, failover_channel_id("", second), "mts")
    assert (third.trunk, third.tried) == ("mts", ("default", "tele2"))
    assert failover_channel_id("", third) not in {attempt.channel_id, second.channel_id, third.channel_id}
    assert [a.channel_id for a in await store.attempts(cid)] == [third.channel_id, other.channel_id]

    # an answered or ended attempt never moves on
    await store.answered(other.id, NOW)
    assert await store.fail_over(other.id, other.channel_id, "x-1", "tele2") is None
    await store.finish(third.id, "congestion", NOW, lambda *_: Decision(False, "congestion", NOW + timedelta(seconds=5)))
    assert await store.fail_over(third.id, third.channel_id, "x-2", "tele2") is None


class Events:
    """A leg's subscription that hands out `events`, then nothing (a wait on it times out)."""

    def __init__(self, events):
        self.events = list(events)

    async def get(self, timeout: float):
        if not self.events:
            raise AssertionError("waited for an event after the leg's end")
        return self.events.pop(0)


def channel(state: str) -> ChannelInfo:
    return ChannelInfo("camp-1-1-1", "PJSIP/trunk-1", state, "", "", "", "", "")


async def test_an_answered_leg_ends_with_its_channel_not_after_a_poll():
    # The slot is freed, and the next row dialled, when the answered leg's channel is destroyed:
    # a branch for answered legs once swallowed the ChannelDestroyed, and each slot waited for the
    # 5 s poll (slot free -> INVITE p50 5 s in bench_campaign).
    attempt = SimpleNamespace(id=1, channel_id="camp-1-1-1", answered_at=None)
    dialer = SimpleNamespace(ringing={1: attempt})
    sub = Events([ChannelStateChange("ChannelStateChange", channel("Up")),
                  ChannelDestroyed("ChannelDestroyed", channel("Up"), 16, "Normal Clearing")])
    end = await CampaignDialer._follow(dialer, attempt, sub)
    assert (end.cause, end.answered, dialer.ringing) == (16, True, {})
