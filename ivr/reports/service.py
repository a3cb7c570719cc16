"""The console's reports for a period: each one's tables and the rows its chart draws, gathered
from the stores that hold them (calls, missed items, queues, campaigns, advert spend, users) and
the PBX's CDR file (trunks). The web layer only asks for one by name and draws it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ivr.campaigns.store import CampaignStore
from ivr.errors import NotFound
from ivr.missed.store import MissedStore
from ivr.plan.model import Plan
from ivr.reports import calls as call_reports
from ivr.reports import other
from ivr.reports.calls import Cell, Period
from ivr.reports.spend import SpendStore
from ivr.reports.table import Table
from ivr.routing.report import TrunkReports
from ivr.store.calls import CallRecord, CallStore
from ivr.store.queues import QueueStore
from ivr.terms import term
from ivr.users import UserStore

NAMES = ("sources", "load", "staff", "missed", "queues", "trunks", "campaigns")
# A chart's rows: (label, [(value, kind), ...]); the first kind is drawn green, the second red.
BarRows = list[tuple[str, list[tuple[float, str]]]]


@dataclass(frozen=True)
class Built:
    tables: list[Table]
    bars: BarRows | None = None
    heat: dict[tuple[int, int], Cell] | None = None     # the load report's hour x weekday cells
    saving: object = None                               # the trunk report's saving


class Reports:
    def __init__(self, calls: CallStore, missed: MissedStore, queues: QueueStore, campaigns: CampaignStore,
                 spend: SpendStore, users: UserStore, trunks: TrunkReports, plan: Callable[[], Plan | None]):
        self.calls, self.missed, self.queues, self.campaigns = calls, missed, queues, campaigns
        self.spend, self.users, self.trunks, self.plan = spend, users, trunks, plan

    async def build(self, name: str, period: Period) -> Built:
        """Report `name` (one of NAMES) over the period's local days."""
        if name not in NAMES:
            raise NotFound(f"no report {name!r}; reports: {', '.join(NAMES)}")
        return await getattr(self, f"_{name}")(period)

    async def _inbound(self, period: Period, steps: bool = False) -> list[CallRecord]:
        return [c for c in await self.calls.list(limit=1_000_000, since=period.since, steps=steps)
                if c.direction == "inbound" and c.started_at < period.until]

    async def _sources(self, period: Period) -> Built:
        calls = await self._inbound(period)
        items = await self.missed.between(period.since, period.until)
        first = await self.calls.first_calls(c.caller for c in calls)
        spend = await self.spend.for_period(period.first, period.last)
        table = call_reports.sources(calls, items, first, spend, period)
        return Built([table], [(f"{r['source']} {r['number']}", [(r["answered"], "answered"), (r["missed"], "missed")])
                               for r in table.rows])

    async def _load(self, period: Period) -> Built:
        calls = await self._inbound(period, steps=True)
        return Built([call_reports.load(calls, period)], heat=call_reports.heatmap(calls, period.tz))

    async def _staff(self, period: Period) -> Built:
        calls = await self._inbound(period, steps=True)
        plan = self.plan()
        names = {e: s.name for e, s in (plan.staff if plan else {}).items()}
        users = {u.username: u.extension for u in await self.users.all() if u.extension}
        table = call_reports.staff(calls, await self.missed.between(period.since, period.until), names, users)
        return Built([table], [(f"{r['extension']} {r['name']}", [(r["answered"], "answered"),
                                                                  (r["missed_ringing"], "missed")])
                               for r in table.rows])

    async def _missed(self, period: Period) -> Built:
        table = call_reports.missed(await self.missed.between(period.since, period.until), period.tz)
        return Built([table], [(term(r["reason"]), [(r["closed"], "reached"), (r["open"], "not_reached")])
                               for r in table.rows if r["reason"] != "all"])

    async def _queues(self, period: Period) -> Built:
        plan = self.plan()
        entries = [e for e in await self.queues.entries(period.since) if e.joined_at < period.until]
        table = other.queues(entries, [n.id for n in (plan.nodes.values() if plan else ()) if n.kind == "queue"])
        return Built([table], [(r["queue"], [(r["answered"], "answered"), (r["offered"] - r["answered"], "missed")])
                               for r in table.rows])

    async def _trunks(self, period: Period) -> Built:
        report = await self.trunks.between(period.since, period.until)
        table = other.trunks(report)
        return Built([table], [(r["name"], [(r["answered"], "answered"), (r["calls"] - r["answered"], "missed")])
                               for r in table.rows if not r["name"].startswith("·")], saving=report["saving"])

    async def _campaigns(self, period: Period) -> Built:
        store = self.campaigns
        every = await store.list()
        events = {c.id: [(t, o) for t, o in await store.outcome_times(c.id) if period.since <= t < period.until]
                  for c in every}
        chosen = [c for c in every if events[c.id] or period.since <= c.created_at < period.until]
        table = other.campaigns([(c, await store.counts(c.id)) for c in chosen])
        days = other.campaign_days([(c, events[c.id]) for c in chosen], period.tz)
        return Built([table, days], [(r["campaign"], [(r["confirm"] + r["understood"], "answered"),
                                                      (r["rows"] - r["confirm"] - r["understood"], "missed")])
                                     for r in table.rows])
