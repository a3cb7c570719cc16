"""How far a campaign is: rows settled of all, counts by outcome, and the outcomes over time in
buckets (the console's chart). Pure functions of what the store returns; the CLI's `watch`, the
console page and its live updates all show the same `Progress`."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ivr.campaigns.model import Campaign

# Outcomes in the order they are stacked and listed (answers first); others follow by name.
ORDER = ("confirm", "understood", "cancel", "dispatcher", "marked", "machine", "no_input", "busy", "no_answer",
         "declined", "congestion", "unreachable", "interrupted", "lost", "expired", "no_time_left", "do_not_call",
         "cancelled")
# One name per result everywhere (console, CLI, export, chart), in English and Russian; the stored
# code (the left) is what the API, the webhooks and `--answer` speak.
LABELS = {"confirm": "confirmed", "cancel": "cancelled", "marked": "marked done", "no_answer": "no answer",
          "no_input": "no input", "do_not_call": "do not call", "no_time_left": "no time left",
          "cancelled": "campaign cancelled", "dispatcher": "to a dispatcher", "understood": "understood",
          "machine": "answering machine", "busy": "busy", "congestion": "network busy",
          "unreachable": "unreachable", "interrupted": "cut off", "lost": "lost", "expired": "too late"}
LABELS_RU = {"confirm": "подтвердил", "cancel": "отказался", "marked": "отмечен вручную",
             "no_answer": "не ответил", "no_input": "молчал", "do_not_call": "не звонить",
             "no_time_left": "не осталось времени", "cancelled": "кампания отменена",
             "dispatcher": "к диспетчеру", "understood": "принял к сведению", "machine": "автоответчик",
             "busy": "занято", "congestion": "сеть занята", "unreachable": "недоступен",
             "interrupted": "разговор прерван", "lost": "звонок потерян", "expired": "слишком поздно"}
STATUS_LABELS = {"en": {"ready": "to call", "calling": "calling", "done": "done", "cancelled": "cancelled"},
                 "ru": {"ready": "ждёт звонка", "calling": "звоним", "done": "завершён", "cancelled": "отменён"}}
ENDED = ("done", "cancelled")
# Bucket widths the chart picks from: the smallest that keeps it within MAX_BUCKETS bars.
STEPS = tuple(timedelta(minutes=m) for m in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440))
MAX_BUCKETS = 48
_EPOCH = datetime(2000, 1, 3, tzinfo=timezone.utc)       # a Monday: day buckets start at midnight UTC


def label(outcome: str, lang: str = "en") -> str:
    """The one name of a result: "confirmed", or in Russian "подтвердил"."""
    if lang == "ru" and outcome in LABELS_RU:
        return LABELS_RU[outcome]
    return LABELS.get(outcome, outcome.replace("_", " "))


def ordered(outcomes: Iterable[str]) -> list[str]:
    known = set(outcomes)
    return [o for o in ORDER if o in known] + sorted(known - set(ORDER))


@dataclass(frozen=True)
class Progress:
    campaign: Campaign
    by_status: dict[str, int]
    by_result: dict[str, int]

    @classmethod
    def of(cls, campaign: Campaign, counts: dict[str, dict[str, int]]) -> Progress:
        """From CampaignStore.counts."""
        return cls(campaign, dict(counts["status"]), dict(counts["result"]))

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def settled(self) -> int:
        return self.by_status.get("done", 0) + self.by_status.get("cancelled", 0)

    @property
    def calling(self) -> int:
        return self.by_status.get("calling", 0)

    @property
    def ended(self) -> bool:
        """Nothing more will happen: the campaign is done or cancelled and no call is in flight."""
        return self.campaign.status in ENDED and not self.calling

    @property
    def percent(self) -> int:
        return 100 * self.settled // self.total if self.total else 100

    def results(self) -> list[tuple[str, int]]:
        """Counts by outcome, answers first."""
        return [(o, self.by_result[o]) for o in ordered(self.by_result)]

    def bar(self, width: int = 30) -> str:
        filled = width * self.settled // self.total if self.total else width
        return f"[{'#' * filled}{'.' * (width - filled)}] {self.settled}/{self.total}"

    def line(self) -> str:
        """One line: status, settled of all, in flight, counts by outcome."""
        counts = " ".join(f"{label(o).replace(' ', '_')}={n}" for o, n in self.results())
        return (f"campaign {self.campaign.id} {self.campaign.status} {self.settled}/{self.total} "
                f"({self.percent}%) calling={self.calling}" + (f" {counts}" if counts else ""))

    def to_dict(self) -> dict[str, Any]:
        return {"campaign": self.campaign.to_dict(), "total": self.total, "settled": self.settled,
                "calling": self.calling, "percent": self.percent, "ended": self.ended,
                "status": self.by_status, "result": dict(self.results())}


@dataclass(frozen=True)
class Timeline:
    """Outcomes counted per time bucket: `counts[i][outcome]` for the bucket starting at `starts[i]`."""

    step: timedelta
    starts: tuple[datetime, ...]
    counts: tuple[dict[str, int], ...]
    outcomes: tuple[str, ...]              # in stacking order

    @property
    def peak(self) -> int:
        return max((sum(c.values()) for c in self.counts), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {"step_seconds": int(self.step.total_seconds()), "outcomes": list(self.outcomes),
                "buckets": [{"start": t.isoformat(), "counts": c} for t, c in zip(self.starts, self.counts)]}


def _floor(t: datetime, step: timedelta) -> datetime:
    return t - (t - _EPOCH) % step


def timeline(events: Iterable[tuple[datetime, str]], until: datetime | None = None) -> Timeline:
    """Bucket (time, outcome) pairs from the first event to `until` (else the last event), with the
    smallest step of STEPS that keeps at most MAX_BUCKETS buckets."""
    events = list(events)
    if not events:
        return Timeline(STEPS[0], (), (), ())
    first = min(t for t, _ in events)
    last = max([t for t, _ in events] + ([until] if until is not None and until > first else []))
    step = next((s for s in STEPS if (_floor(last, s) - _floor(first, s)) // s < MAX_BUCKETS), STEPS[-1])
    start = _floor(first, step)
    n = (_floor(last, step) - start) // step + 1
    buckets: list[Counter[str]] = [Counter() for _ in range(n)]
    for t, outcome in events:
        buckets[min(n - 1, (t - start) // step)][outcome] += 1
    return Timeline(step, tuple(start + i * step for i in range(n)), tuple(dict(b) for b in buckets),
                    tuple(ordered(o for _, o in events)))
