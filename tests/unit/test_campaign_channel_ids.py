"""Campaign calls' channel ids are qualified by the node that carries them (as Asterisk's systemname
qualifies a node's own ids); a single node keeps bare ids; an attempt left open by an earlier
version under a bare id is still carried on by its node's dialer after a restart."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from ivr.ari.bus import EventBus
from ivr.campaigns.channel_ids import attempt_channel_id, failover_channel_id
from ivr.campaigns.dialer import CampaignDialer
from ivr.campaigns.store import CampaignStore
from ivr.config import load_settings
from ivr.missed.callback import new_channel_id
from test_campaign_store import NOW, seeded


def test_ids_carry_the_node_in_a_cluster_and_stay_bare_on_one_node():
    assert attempt_channel_id("node1", 3, 7, 1) == "node1-camp-3-7-1"
    assert attempt_channel_id("", 3, 7, 1) == "camp-3-7-1"
    attempt = SimpleNamespace(campaign_id=3, row_id=7, id=12, tried=("default",))
    assert failover_channel_id("node2", attempt) == "node2-camp-3-7-a12-2"
    assert failover_channel_id("", attempt) == "camp-3-7-a12-2"
    assert new_channel_id("node2").startswith("node2-cb-") and new_channel_id("").startswith("cb-")


async def test_an_attempt_with_an_id_of_the_earlier_version_is_carried_on_after_a_restart(db):
    store = CampaignStore(db)
    cid = await seeded(store, 2)
    # Claimed by node1's dialer before the upgrade: bare ids, both calls still up in Asterisk.
    claimed = await store.claim(cid, "node1", NOW, 2, channel_id_for=lambda r: f"camp-{cid}-{r.id}-{r.attempts}",
                                trunk_for=lambda r: "default", expired=lambda r: False)
    asked: list[str] = []

    async def get_channel(channel_id: str) -> None:
        asked.append(channel_id)
        await asyncio.sleep(0)

    dialer = CampaignDialer(store, settings=load_settings(env={"IVR_NODE_NAME": "node1"}),
                            ari=SimpleNamespace(get_channel=get_channel), bus=EventBus(), plans=None, catalog=None,
                            now=lambda: NOW, supervisor=None, services=None)  # type: ignore[arg-type]
    try:
        await dialer.reconcile()
        assert sorted(asked) == sorted(a.channel_id for _, a in claimed) and all(
            c.startswith(f"camp-{cid}-") for c in asked)
        assert set(dialer.watchers) == {a.id for _, a in claimed}
    finally:
        await dialer.stop()
