"""Queue statistics from stored entries, and the store that keeps entries, agents and call-backs."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ivr.queues.stats import compute, percentile
from ivr.store import Database
from ivr.store.queues import QueueEntry, QueueStore

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def entry(outcome: str, wait: float, agent: str = "", talk: float = 0.0, sl: float = 20.0) -> QueueEntry:
    return QueueEntry(queue="q", joined_at=T0, outcome=outcome, wait_seconds=wait, agent=agent,
                      talk_seconds=talk, service_level_seconds=sl)


def test_percentile_is_nearest_rank():
    assert percentile([], 90) == 0.0
    assert percentile([5.0], 90) == 5.0
    assert percentile([float(i) for i in range(1, 11)], 90) == 9.0
    assert percentile([float(i) for i in range(1, 21)], 90) == 18.0


def test_counts_service_level_waits_and_talk_time():
    stats = compute([
        entry("answered", 5, "101", 60), entry("answered", 30, "102", 100), entry("answered", 10, "101", 40),
        entry("abandoned", 12), entry("abandoned", 40), entry("timeout", 300), entry("left", 8),
        entry("full", 0), entry("no_agents", 0), entry("callback", 25),
        entry("callback_answered", 15, "102", 20),
    ])
    assert (stats.offered, stats.answered, stats.abandoned, stats.timed_out, stats.left) == (8, 4, 2, 1, 1)
    assert (stats.refused, stats.callbacks) == (2, 1)
    assert stats.abandon_avg_seconds == pytest.approx(26.0)
    # Answered within 20 s: 5, 10, 15 of 4 answered + 2 abandoned.
    assert stats.answered_within == 3 and stats.service_level == pytest.approx(50.0)
    assert stats.avg_wait == pytest.approx(15.0) and stats.p90_wait == 30.0
    assert stats.agents["101"].calls == 2 and stats.agents["101"].talk_seconds == pytest.approx(100.0)
    assert stats.agents["102"].talk_seconds == pytest.approx(120.0)
    d = stats.to_dict()
    assert d["service_level"] == 50.0 and d["agents"]["102"] == {"calls": 2, "talk_seconds": 120.0}


def test_no_calls_no_service_level():
    stats = compute([entry("full", 0)])
    assert stats.service_level is None and stats.offered == 0 and stats.to_dict()["service_level"] is None


def test_each_entry_keeps_its_own_threshold():
    stats = compute([entry("answered", 25, "101", 1, sl=30), entry("answered", 25, "101", 1, sl=20)])
    assert stats.answered_within == 1


async def test_store_agents_entries_and_callbacks(db: Database):
    store = QueueStore(db)
    assert await store.agents() == {}
    paused = await store.set_agent("101", T0, paused=True, reason="lunch")
    assert (paused.logged_in, paused.paused, paused.reason) == (True, True, "lunch")
    out = await store.set_agent("101", T0 + timedelta(minutes=1), logged_in=False)
    assert (out.logged_in, out.paused) == (False, False)                # a logout ends the pause
    assert (await store.agents())["101"].updated_at == T0 + timedelta(minutes=1)

    await store.add_entry(entry("answered", 4, "101", 30))
    await store.add_entry(QueueEntry(queue="other", joined_at=T0 - timedelta(days=1), outcome="abandoned",
                                     wait_seconds=3))
    assert [e.outcome for e in await store.entries(T0 - timedelta(hours=1))] == ["answered"]
    assert len(await store.entries(T0 - timedelta(days=2))) == 2
    assert await store.entries(T0 - timedelta(days=2), queue="q") == [entry("answered", 4, "101", 30)]

    first = await store.add_callback("q", "+79160000001", 5, False, T0, T0 + timedelta(seconds=40))
    second = await store.add_callback("q", "+79160000002", 6, True, T0 - timedelta(seconds=10), T0)
    assert [c.id for c in await store.open_callbacks()] == [second, first]      # by place in line
    await store.update_callback(first, status="waiting", at=T0, result="busy", attempts=1,
                                next_attempt_at=T0 + timedelta(minutes=1))
    await store.update_callback(second, status="done", at=T0, result="answered", agent="101", attempts=1)
    still = await store.open_callbacks()
    assert [(c.id, c.attempts, c.last_result, c.next_attempt_at) for c in still] == \
        [(first, 1, "busy", T0 + timedelta(minutes=1))]
    latest = await store.callbacks(10)
    assert [(c.id, c.status, c.agent) for c in latest] == [(second, "done", "101"), (first, "waiting", "")]
