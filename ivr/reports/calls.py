"""Reports from the call log and the missed-call list over a period: sources (which advert made the
phone ring), load (calls and missed share by hour × weekday, with the people Erlang C says were needed
beside the people who were free), staff, and missed calls (how fast and how often we called back)."""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from ivr.i18n import lazy
from ivr.plan.reasons import MISSED_OUTCOMES
from ivr.missed.report import percentile
from ivr.missed.store import MissedItem
from ivr.reports.erlang import agents_needed
from ivr.reports.table import Column, Table
from ivr.store.calls import CallRecord

ANSWERED = frozenset({"answered", "queue_callback"})
# A cell whose missed share is above this (with at least MIN_CALLS calls) is marked "add staff here".
MISSED_THRESHOLD = 0.2
MIN_CALLS = 2
TARGET, WITHIN = 0.9, 20.0           # Erlang C goal: 90 % of calls answered within 20 s
DEFAULT_TALK = 120.0                 # seconds, when no answered call tells the real average


@dataclass(frozen=True)
class Period:
    first: date                      # local days, both included
    last: date
    tz: ZoneInfo

    @property
    def since(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=self.tz)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=self.tz)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def weekdays(self) -> Counter[int]:
        """How many Mondays, Tuesdays, ... the period has (for averages per weekday)."""
        return Counter((self.first + timedelta(days=d)).weekday() for d in range(self.days))


def is_missed(call: CallRecord) -> bool:
    return call.outcome in MISSED_OUTCOMES


def talk_seconds(call: CallRecord) -> float | None:
    if call.answered_at is None or call.ended_at is None:
        return None
    return max(0.0, (call.ended_at - call.answered_at).total_seconds())


# ----- sources -----

SOURCE_COLUMNS = (
    Column("number", lazy("Company number"), "text"), Column("source", lazy("Source"), "text"),
    Column("calls", lazy("Calls")), Column("unique", lazy("Unique callers")), Column("new", lazy("New callers")),
    Column("answered", lazy("Answered")), Column("missed", lazy("Missed")),
    Column("lost", lazy("Customers lost")), Column("spend", lazy("Spend"), "money"),
    Column("cost_per_lead", lazy("Cost per new caller"), "money"),
)


def sources(calls: Iterable[CallRecord], items: Iterable[MissedItem], first_calls: Mapping[str, datetime],
            spend: Mapping[str, Decimal], period: Period) -> Table:
    """Per company number: calls, unique and new callers (first call ever in the period), answered,
    missed, customers lost (missed and not reached since), and the advert's cost per new caller."""
    by_number: dict[str, list[CallRecord]] = defaultdict(list)
    for call in calls:
        by_number[call.company_number].append(call)
    lost: dict[str, set[str]] = defaultdict(set)
    for item in items:
        if item.status != "closed" and not item.short:
            lost[item.company_number].add(item.customer)
    rows = []
    for number, group in sorted(by_number.items(), key=lambda kv: -len(kv[1])):
        callers = {c.caller for c in group if c.caller}
        new = {c for c in callers if period.since <= first_calls.get(c, period.since) < period.until}
        source = group[0].source
        cost = spend.get(source)
        rows.append({"number": number, "source": source, "calls": len(group), "unique": len(callers),
                     "new": len(new), "answered": sum(1 for c in group if c.outcome in ANSWERED),
                     "missed": sum(1 for c in group if is_missed(c)), "lost": len(lost[number]),
                     "spend": cost, "cost_per_lead": (cost / len(new)).quantize(Decimal("0.01"))
                     if cost is not None and new else None})
    return Table("sources", SOURCE_COLUMNS, rows)


# ----- load -----

@dataclass(frozen=True)
class Cell:
    calls: int
    missed: int

    @property
    def share(self) -> float:
        return self.missed / self.calls if self.calls else 0.0

    @property
    def add_staff(self) -> bool:
        return self.calls >= MIN_CALLS and self.share > MISSED_THRESHOLD


def heatmap(calls: Iterable[CallRecord], tz: ZoneInfo) -> dict[tuple[int, int], Cell]:
    """(weekday 0=Monday, hour) -> calls and missed calls started then, local time."""
    counts: Counter[tuple[int, int]] = Counter()
    missed: Counter[tuple[int, int]] = Counter()
    for call in calls:
        local = call.started_at.astimezone(tz)
        key = (local.weekday(), local.hour)
        counts[key] += 1
        missed[key] += is_missed(call)
    return {key: Cell(n, missed[key]) for key, n in counts.items()}


def free_to_answer(call: CallRecord) -> int | None:
    """How many staff phones were free when the call wanted a person: the members its hunt (or its
    queue, which rings agents the same way) rang; a busy or unavailable one is skipped, not rung."""
    rung = {str(s.data.get("member", "")) for s in call.steps if s.kind == "ring"} - {""}
    wanted = rung or any(s.kind in ("skipped", "queued", "nobody_answered") for s in call.steps)
    return len(rung) if wanted else None


LOAD_COLUMNS = (
    Column("hour", lazy("Hour"), "text"), Column("calls", lazy("Calls")),
    Column("per_day", lazy("Calls per day"), "number"), Column("missed_share", lazy("Missed"), "share"),
    Column("talk", lazy("Average talk"), "seconds"), Column("needed", lazy("People needed (90 % in 20 s)")),
    Column("free", lazy("People free to answer (average)"), "number"),
    Column("add_staff", lazy("Add staff here"), "text"),
)


def load(calls: list[CallRecord], period: Period) -> Table:
    """Per hour of the day: arrivals per day, missed share, average talk, Erlang C's people needed
    for 90 % within 20 s, and how many were free to answer (from the hunts' and queues' own steps)."""
    talks = [t for c in calls if (t := talk_seconds(c)) is not None and c.outcome in ANSWERED]
    overall_talk = statistics.fmean(talks) if talks else DEFAULT_TALK
    by_hour: dict[int, list[CallRecord]] = defaultdict(list)
    for call in calls:
        by_hour[call.started_at.astimezone(period.tz).hour].append(call)
    rows = []
    for hour in sorted(by_hour):
        group = by_hour[hour]
        hour_talks = [t for c in group if (t := talk_seconds(c)) is not None and c.outcome in ANSWERED]
        talk = statistics.fmean(hour_talks) if hour_talks else overall_talk
        per_day = len(group) / period.days
        free = [f for c in group if (f := free_to_answer(c)) is not None]
        needed = agents_needed(per_day, talk, TARGET, WITHIN)
        share = sum(1 for c in group if is_missed(c)) / len(group)
        mean_free = statistics.fmean(free) if free else None
        rows.append({"hour": f"{hour:02d}:00", "calls": len(group), "per_day": round(per_day, 2),
                     "missed_share": share, "talk": round(talk), "needed": needed,
                     "free": round(mean_free, 1) if mean_free is not None else None,
                     "add_staff": "+" if (len(group) >= MIN_CALLS and share > MISSED_THRESHOLD)
                     or (mean_free is not None and mean_free < needed) else ""})
    return Table("load", LOAD_COLUMNS, rows)


# ----- staff -----

STAFF_COLUMNS = (
    Column("extension", lazy("Phone"), "text"), Column("name", lazy("Name"), "text"),
    Column("answered", lazy("Calls answered")), Column("missed_ringing", lazy("Missed while ringing")),
    Column("talk", lazy("Talk time"), "seconds"), Column("callbacks", lazy("Call-backs made")),
    Column("callback_median", lazy("Median time to call back"), "seconds"),
)


def staff(calls: Iterable[CallRecord], items: Iterable[MissedItem], names: Mapping[str, str],
          users: Mapping[str, str]) -> Table:
    """Per staff phone: calls answered and their talk time, calls it let ring out, and the call-backs
    closed by its user (`users`: user name -> extension) with their median time."""
    answered: Counter[str] = Counter()
    talk: Counter[str] = Counter()
    rang_out: Counter[str] = Counter()
    for call in calls:
        if call.answered_by and call.outcome in ANSWERED:
            answered[call.answered_by] += 1
            talk[call.answered_by] += talk_seconds(call) or 0.0
        for step in call.steps:
            if step.kind == "ring_end" and step.data.get("reason") == "no_answer":
                rang_out[str(step.data.get("member", ""))] += 1
    backs: dict[str, list[float]] = defaultdict(list)
    for item in items:
        if item.status == "closed" and item.callback_seconds is not None and item.closed_by in users:
            backs[users[item.closed_by]].append(item.callback_seconds)
    rows = [{"extension": ext, "name": name, "answered": answered[ext], "missed_ringing": rang_out[ext],
             "talk": round(talk[ext]), "callbacks": len(backs[ext]),
             "callback_median": percentile(backs[ext], 0.5)} for ext, name in names.items()]
    return Table("staff", STAFF_COLUMNS, rows)


# ----- missed calls -----

MISSED_COLUMNS = (
    Column("reason", lazy("Why"), "text"), Column("items", lazy("Customers")), Column("closed", lazy("Reached")),
    Column("median", lazy("Median time to call back"), "seconds"),
    Column("p90", lazy("90 % called back within"), "seconds"),
    Column("same_day", lazy("Reached the same day"), "share"), Column("open", lazy("Not reached yet")),
)


def missed(items: Iterable[MissedItem], tz: ZoneInfo) -> Table:
    """Per reason, and all together: time to call back (median, 90th percentile), the share reached the
    same day, and the customers not reached yet."""
    kept = [i for i in items if not i.short]
    groups: dict[str, list[MissedItem]] = defaultdict(list)
    for item in kept:
        groups[item.reason].append(item)
    rows = [_missed_row(reason, group, tz) for reason, group in sorted(groups.items(), key=lambda kv: -len(kv[1]))]
    if kept:
        rows.append(_missed_row("all", kept, tz))
    return Table("missed", MISSED_COLUMNS, rows)


def _missed_row(reason: str, items: list[MissedItem], tz: ZoneInfo) -> dict:
    times = [i.callback_seconds for i in items if i.status == "closed" and i.callback_seconds is not None]
    same_day = sum(1 for i in items if i.status == "closed" and i.closed_at is not None
                   and i.closed_at.astimezone(tz).date() == i.first_at.astimezone(tz).date())
    return {"reason": reason, "items": len(items), "closed": len(times), "median": percentile(times, 0.5),
            "p90": percentile(times, 0.9), "same_day": same_day / len(items) if items else 0.0,
            "open": sum(1 for i in items if i.status != "closed")}
