"""What the HTTP API and the console ask of campaigns, one method each: rows in (items or a file),
a campaign shown, exported, advanced, a row settled or called again. The web handlers only parse
the request, call one of these and serialise the answer."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from ivr.campaigns.config import campaigns_file, load_route_zones
from ivr.campaigns.dialer import CampaignDialer
from ivr.campaigns.export import export_file
from ivr.campaigns.importer import ImportResult, read_csv, read_file, read_records
from ivr.campaigns.model import Attempt, Campaign, Profile, Row
from ivr.campaigns.progress import Progress, Timeline, timeline
from ivr.campaigns.service import Added, add_passengers, profile_named
from ivr.campaigns.store import CampaignStore, Mark
from ivr.config import Settings
from ivr.plan.live import PlanHolder
from ivr.plan.model import Plan
from ivr.routing.numbers import normalize
from ivr.routing.router import Router


@dataclass(frozen=True)
class Stored:
    """Rows taken into a campaign: the campaign, what was added, and what the reading found."""
    campaign: Campaign
    added: Added
    read: ImportResult


@dataclass(frozen=True)
class Details:
    """A campaign with its counts, every row, every attempt and the rows marked done by hand."""
    campaign: Campaign
    counts: dict[str, dict[str, int]]
    rows: list[Row]
    attempts: list[Attempt]
    marks: dict[int, Mark]

    def matching(self, status: str = "", result: str = "", search: str = "") -> list[Row]:
        """Rows of that status and result (either may be ""), whose name, phone or trip has `search`."""
        needle = search.lower()
        return [r for r in self.rows
                if (not status or r.status == status) and (not result or r.result == result)
                and (not needle or needle in r.passenger.name.lower() or needle in r.passenger.phone
                     or needle in r.passenger.trip_id.lower())]

    def attempts_by_row(self) -> dict[int, list[Attempt]]:
        """Each row's attempts in order; a row never called has none."""
        by_row: defaultdict[int, list[Attempt]] = defaultdict(list)
        for a in self.attempts:
            by_row[a.row_id].append(a)
        return by_row


class CampaignDesk:
    def __init__(self, dialer: CampaignDialer, plans: PlanHolder, router: Router | None, settings: Settings,
                 now: Callable[[], datetime]):
        self.dialer, self.plans, self.router, self.settings, self.now = dialer, plans, router, settings, now

    @property
    def store(self) -> CampaignStore:
        return self.dialer.store

    def plan(self) -> Plan:
        return self.plans.current.plan

    def profiles(self) -> dict[str, Profile]:
        return self.dialer.profiles()

    def profile(self, name: str) -> Profile:
        return profile_named(self.profiles(), name)

    async def add_records(self, records: list[tuple[int, Mapping[str, str]]], keys: Mapping[int, str],
                          profile_name: str, name: str, campaign_id: int | None) -> Stored:
        """API items into a new campaign, or into `campaign_id`; a key the campaign has is skipped."""
        plan, profile = self.plan(), self.profile(profile_name)
        read = read_records(records, plan.country, plan.timezone, plan.languages, keys=keys)
        campaign = await self.store.get(campaign_id) if campaign_id is not None else None
        return await self._store(campaign, name, profile, read)

    async def import_file(self, data: bytes, filename: str, name: str, profile_name: str) -> tuple[Stored, str]:
        """A CSV or XLSX file into a new campaign in draft; the result and what the file was."""
        plan, profile = self.plan(), self.profile(profile_name)
        read, kind = read_file(data, filename, plan.country, plan.timezone, plan.languages,
                               load_route_zones(campaigns_file(self.settings)))
        return await self._store(None, name or filename or "import", profile, read), kind

    def read_csv(self, text: str) -> ImportResult:
        """A passengers' CSV checked row by row against the plan, nothing stored (the console's form)."""
        plan = self.plan()
        return read_csv(text, plan.country, plan.timezone, plan.languages)

    async def create(self, read: ImportResult, name: str, profile_name: str, start: bool = False) -> Stored:
        """A new campaign of rows already read (the console's form), started at once if asked."""
        stored = await self._store(None, name, self.profile(profile_name), read)
        if start:
            return Stored(await self.change(stored.campaign.id, "start"), stored.added, read)
        return stored

    async def _store(self, campaign: Campaign | None, name: str, profile: Profile, read: ImportResult) -> Stored:
        now = self.now()
        if campaign is None:
            campaign = await self.store.create(name, profile.kind, profile.name, now, profile.dispatcher)
        added = await add_passengers(self.store, campaign, profile, self.plan(), read.passengers, now, self._lookup())
        return Stored(campaign, added, read)

    def _lookup(self):
        """The carrier lookup, with a registry imported since the service started (callee zones)."""
        lookup = getattr(self.router, "lookup", None)
        if lookup is not None:
            lookup.refresh()
        return lookup

    async def export(self, campaign_id: int, lang: str, fmt: str, plan_zone: str) -> bytes:
        await self.store.get(campaign_id)
        return export_file(await self.store.rows(campaign_id), await self.store.attempts(campaign_id),
                           plan_zone, lang, fmt, f"campaign {campaign_id}")

    async def campaign(self, campaign_id: int) -> Campaign:
        return await self.store.get(campaign_id)

    async def overview(self) -> list[tuple[Campaign, dict[str, dict[str, int]]]]:
        """Every campaign, newest first, with its counts."""
        return [(c, await self.store.counts(c.id)) for c in reversed(await self.store.list())]

    async def details(self, campaign_id: int) -> Details:
        store = self.store
        campaign = await store.get(campaign_id)
        return Details(campaign, await store.counts(campaign_id), await store.rows(campaign_id),
                       await store.attempts(campaign_id), await store.marks(campaign_id))

    async def progress(self, campaign_id: int) -> tuple[Progress, Timeline]:
        state = Progress.of(await self.store.get(campaign_id), await self.store.counts(campaign_id))
        return state, timeline(await self.store.outcome_times(campaign_id), None if state.ended else self.now())

    async def settle(self, campaign_id: int, row_id: int | None, phone: str, answer: str, by: str) -> list[Row]:
        """A row (or every open row of the phone) settled with a dispatcher: not called again."""
        target: int | str = row_id if row_id is not None else normalize(phone, self.plan().country)
        return await self.store.mark_done(campaign_id, target, answer, by, self.now())

    async def call_again(self, campaign_id: int, row_id: int) -> Row:
        return await self.store.call_again(campaign_id, row_id, self.now())

    async def change(self, campaign_id: int, command: str) -> Campaign:
        return await self.store.change(campaign_id, command, self.now())
