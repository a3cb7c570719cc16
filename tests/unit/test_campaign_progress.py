"""Campaign progress: outcomes over time in buckets, the one-line and bar forms, and `ivr campaign
watch` (redrawn in place on a terminal, one line per change elsewhere, until the campaign ends)."""
from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta, timezone

from ivr.campaigns.model import Campaign, Passenger
from ivr.campaigns.progress import MAX_BUCKETS, Progress, timeline
from ivr.campaigns.scheduler import Decision
from ivr.campaigns.store import CampaignStore
from ivr.cli.campaigns import watch

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)


def test_timeline_buckets_outcomes_with_a_step_that_fits():
    events = [(NOW + timedelta(seconds=s), o) for s, o in
              [(10, "busy"), (50, "confirm"), (70, "confirm"), (130, "no_answer"), (3590, "cancel")]]
    t = timeline(events)
    assert t.step == timedelta(minutes=2) and len(t.starts) <= MAX_BUCKETS   # an hour in 2-minute bars
    assert t.starts[0] == NOW and t.counts[0] == {"busy": 1, "confirm": 2}
    assert t.counts[1] == {"no_answer": 1} and t.counts[-1] == {"cancel": 1}
    assert sum(sum(c.values()) for c in t.counts) == 5 and t.peak == 3
    assert t.outcomes == ("confirm", "cancel", "busy", "no_answer")           # answers first
    short = timeline(events[:3], until=NOW + timedelta(minutes=5))
    assert short.step == timedelta(minutes=1) and len(short.starts) == 6     # runs on to `until`
    assert timeline([]).starts == ()


def progress(status: str, by_status: dict[str, int], by_result: dict[str, int]) -> Progress:
    return Progress(Campaign(7, "tomorrow", "confirm", "confirm", status, NOW), by_status, by_result)


def test_progress_counts_bar_and_end():
    p = progress("running", {"done": 3, "calling": 1, "ready": 4}, {"busy": 1, "confirm": 2})
    assert (p.total, p.settled, p.calling, p.percent) == (8, 3, 1, 37)
    assert p.bar(8) == "[###.....] 3/8"
    assert p.line() == "campaign 7 running 3/8 (37%) calling=1 confirmed=2 busy=1"
    assert not p.ended
    assert not progress("cancelled", {"cancelled": 2, "calling": 1}, {}).ended   # a call still in flight
    assert progress("done", {"done": 8}, {}).ended


async def finish_all_later(store: CampaignStore, cid: int, started: asyncio.Event) -> None:
    """What a dialer would do, a little at a time: each row answered, then the campaign done."""
    await started.wait()
    done = lambda outcome, counts, attempts, row: Decision(True, outcome)     # noqa: E731
    for row, attempt in await store.claim(cid, "a", NOW, 10, channel_id_for=lambda r: f"c{r.id}",
                                          trunk_for=lambda r: "t", expired=lambda r: False):
        await asyncio.sleep(0.05)
        await store.store_answer(attempt.id, "1", "confirm", NOW)
        await store.finish(attempt.id, "no_answer", NOW, done)
    await store.finish_if_complete(cid)


class Out(io.StringIO):
    """Standard output of a watch; the first write lets the 'dialer' start."""

    def __init__(self, started: asyncio.Event):
        super().__init__()
        self.started = started

    def write(self, text: str) -> int:
        self.started.set()
        return super().write(text)


async def watched(db, tty: bool) -> tuple[str, Progress]:
    store = CampaignStore(db)
    campaign = await store.create("tomorrow", "confirm", "confirm", NOW)
    await store.add_rows(campaign.id, [(Passenger(name=f"P{i}", phone=f"+7916100{i:04d}", trip_id="T"),
                                        "Europe/Moscow", Decision(False, "", NOW)) for i in range(3)], NOW)
    await store.change(campaign.id, "start", NOW)
    started = asyncio.Event()
    out = Out(started)
    dialer = asyncio.create_task(finish_all_later(store, campaign.id, started))
    last = await asyncio.wait_for(watch(store, campaign.id, out, tty, interval=0.02), 20)
    await dialer
    return out.getvalue(), last


async def test_watch_on_a_pipe_prints_one_line_per_change_until_done(db):
    text, last = await watched(db, tty=False)
    lines = text.splitlines()
    assert "\x1b" not in text
    assert "running 0/3 (0%)" in lines[0] and "done 3/3 (100%) calling=0 confirmed=3" in lines[-1]
    assert len(lines) == len(set(line.split(" ", 1)[1] for line in lines))  # no line repeated
    assert last.ended and last.by_result == {"confirm": 3}


async def test_watch_on_a_terminal_redraws_in_place(db):
    text, _ = await watched(db, tty=True)
    frames = text.split("\x1b[J")[1:]
    assert len(frames) >= 2
    assert all(f.count("\n") == 3 for f in frames)                   # header, bar, counts
    assert text.count("\x1b[3F") == len(frames) - 1                   # each redraw goes back 3 lines
    assert "[" + "#" * 30 + "] 3/3 100%" in frames[-1] and "confirmed 3" in frames[-1]
