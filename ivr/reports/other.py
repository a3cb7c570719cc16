"""Reports from the queues' entries, the trunks' call records and the campaigns, as tables."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.i18n import _, lazy
from ivr.queues.stats import compute
from ivr.reports.table import Column, Table
from ivr.store.queues import QueueEntry

QUEUE_COLUMNS = (
    Column("queue", lazy("Queue"), "text"), Column("offered", lazy("Callers")), Column("answered", lazy("Answered")),
    Column("service_level", lazy("Answered within the target"), "share"),
    Column("abandon_rate", lazy("Hung up waiting"), "share"), Column("p90_wait", lazy("90 % waited at most"), "seconds"),
    Column("callbacks", lazy("Asked for a call-back")),
)


def queues(entries: Iterable[QueueEntry], names: Iterable[str]) -> Table:
    by_queue: dict[str, list[QueueEntry]] = defaultdict(list)
    for e in entries:
        by_queue[e.queue].append(e)
    rows = []
    for name in names:
        s = compute(by_queue[name])
        rows.append({"queue": name, "offered": s.offered, "answered": s.answered,
                     "service_level": s.service_level / 100 if s.service_level is not None else None,
                     "abandon_rate": s.abandoned / s.offered if s.offered else None,
                     "p90_wait": round(s.p90_wait, 1), "callbacks": s.callbacks})
    return Table("queues", QUEUE_COLUMNS, rows)


TRUNK_COLUMNS = (
    Column("name", lazy("Trunk or carrier"), "text"), Column("calls", lazy("Calls")),
    Column("answered", lazy("Answered")), Column("minutes", lazy("Minutes"), "number"),
    Column("cost", lazy("Cost"), "money"), Column("saving", lazy("Saving"), "money"),
)


def trunks(report: Mapping) -> Table:
    """The trunk report (ivr.routing.report): per trunk, per carrier, and the saving against the default."""
    shown = ("calls", "answered", "minutes", "cost", "saving")
    rows = [{"name": r["trunk"], **{k: r[k] for k in shown}} for r in report["trunks"]]
    unknown = _("unknown carrier")
    rows += [{"name": "· " + (unknown if r["carrier"] == "unknown" else r["carrier"]),
              **{k: r[k] for k in shown}} for r in report["carriers"]]
    return Table("trunks", TRUNK_COLUMNS, rows)


CAMPAIGN_COLUMNS = (
    Column("campaign", lazy("Campaign"), "text"), Column("status", lazy("Status"), "term"),
    Column("rows", lazy("Rows")), Column("confirm", lazy("confirmed")), Column("cancel", lazy("cancelled the seat")),
    Column("understood", lazy("understood")), Column("dispatcher", lazy("asked for a dispatcher")),
    Column("no_answer", lazy("no answer")), Column("busy", lazy("busy")), Column("other", lazy("Other")),
)


def campaigns(items: Iterable[tuple[object, Mapping[str, Mapping[str, int]]]]) -> Table:
    """Per campaign: its rows and their outcomes (`items`: campaign, store counts)."""
    rows = []
    named = {c.key for c in CAMPAIGN_COLUMNS[3:-1]}
    for campaign, counts in items:
        results = counts.get("result", {})
        row = {"campaign": f"{campaign.id} · {campaign.name}", "status": campaign.status,
               "rows": sum(counts.get("status", {}).values()),
               **{k: results.get(k, 0) for k in named},
               "other": sum(n for k, n in results.items() if k not in named)}
        rows.append(row)
    return Table("campaigns", CAMPAIGN_COLUMNS, rows)


CAMPAIGN_DAY_COLUMNS = (
    Column("day", lazy("Day"), "text"), Column("campaign", lazy("Campaign"), "text"), Column("calls", lazy("Calls")),
    Column("answers", lazy("Answers")), Column("not_reached", lazy("not reached yet")), Column("other", lazy("Other")),
)
ANSWERS = frozenset({"confirm", "cancel", "understood", "dispatcher", "marked"})
NOT_REACHED = frozenset({"busy", "no_answer", "congestion", "unreachable", "machine", "no_input"})


def campaign_days(items: Iterable[tuple[object, Iterable[tuple[datetime, str]]]], tz: ZoneInfo) -> Table:
    """Per local day and campaign: calls ended, answers, callees not reached, other outcomes."""
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for campaign, events in items:
        for at, outcome in events:
            key = (at.astimezone(tz).date().isoformat(), f"{campaign.id} · {campaign.name}")
            kind = "answers" if outcome in ANSWERS else "not_reached" if outcome in NOT_REACHED else "other"
            counts[key][kind] += 1
    rows = [{"day": day, "campaign": name, "calls": sum(c.values()), **{k: c[k] for k in ("answers", "not_reached", "other")}}
            for (day, name), c in sorted(counts.items())]
    return Table("campaign_days", CAMPAIGN_DAY_COLUMNS, rows)
