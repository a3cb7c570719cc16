"""What the HTTP API and the console ask of the missed-call list and the contacts, one method
each: items listed, taken, closed or called back, a staff phone's call stored, the report, the
outbox, contacts written, imported and exported. The web handlers only parse the request, call
one of these and serialise the answer."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from ivr.contacts.csvio import ImportReport, export_csv, import_csv
from ivr.contacts.store import Contact, ContactData
from ivr.missed.report import Report, build_report
from ivr.missed.service import MissedService, StaffCall
from ivr.missed.store import MissedItem
from ivr.notify.outbox import OutboxMessage
from ivr.plan.model import Plan
from ivr.routing.numbers import normalize

REPORT_DAYS = 7                  # the report's period when the request names no start


class MissedDesk:
    def __init__(self, missed: MissedService, plan: Callable[[], Plan | None]):
        self.missed, self._plan = missed, plan

    def _country(self) -> str:
        plan = self._plan()
        return plan.country if plan else "RU"

    # ----- missed calls -----

    async def items(self, status: str, company_number: str | None = None, customer: str | None = None,
                    include_short: bool = True, since: datetime | None = None, limit: int = 100) -> list[MissedItem]:
        """Newest first; `status` open, taken, closed, "pending" or "active" (open or taken), or "all"."""
        wanted = {"all": None, "active": "pending"}.get(status, status)
        return await self.missed.store.list(status=wanted, company_number=company_number, customer=customer,
                                            include_short=include_short, since=since, limit=limit)

    async def item(self, item_id: int) -> MissedItem:
        return await self.missed.store.get(item_id)

    async def voicemail(self, item_id: int) -> Path | None:
        """The message the caller left, None when there is none (or its file is gone)."""
        item = await self.item(item_id)
        return Path(item.voicemail) if item.voicemail and Path(item.voicemail).exists() else None

    async def take(self, item_id: int, by: str) -> MissedItem:
        return await self.missed.take(item_id, by)

    async def release(self, item_id: int, by: str) -> MissedItem:
        return await self.missed.release(item_id, by)

    async def close(self, item_id: int, by: str, reason: str) -> MissedItem:
        return await self.missed.close(item_id, by, reason)

    async def call_back(self, item_id: int, staff: str, by: str) -> dict[str, object]:
        return await self.missed.start_callback(item_id, staff, by)

    async def staff_call_ended(self, call: StaffCall) -> int:
        return await self.missed.staff_call_ended(call)

    async def report(self, since: datetime | None, until: datetime | None, include_short: bool) -> Report:
        """Missed calls and call-backs by day and by number; the last REPORT_DAYS days by default."""
        until = until or self.missed.now()
        since = since or until - timedelta(days=REPORT_DAYS)
        return build_report(await self.missed.store.between(since, until), since, until, self.missed.timezone(),
                            include_short=include_short)

    async def outbox(self, pending: bool) -> list[OutboxMessage]:
        return await self.missed.outbox.list(pending=pending)

    # ----- contacts -----

    def contact(self, name: str, numbers: Sequence[str], company: str, manager: str, vip: bool,
                notes: str) -> ContactData:
        """A contact as entered, its numbers normalised in the plan's country (a wrong one: 400)."""
        return ContactData(name=name, numbers=tuple(normalize(n, self._country()) for n in numbers),
                           company=company, manager=manager, vip=vip, notes=notes)

    async def contacts(self, search: str = "") -> list[Contact]:
        return await self.missed.contacts.list(search=search)

    async def get_contact(self, contact_id: int) -> Contact:
        return await self.missed.contacts.get(contact_id)

    async def add_contact(self, data: ContactData) -> Contact:
        return await self.missed.contacts.add(data, self.missed.now())

    async def update_contact(self, contact_id: int, data: ContactData) -> Contact:
        return await self.missed.contacts.update(contact_id, data, self.missed.now())

    async def delete_contact(self, contact_id: int) -> None:
        await self.missed.contacts.delete(contact_id)

    async def import_contacts(self, text: str, check_staff: bool = False, dry_run: bool = False) -> ImportReport:
        """A contacts CSV: the good rows stored, every refused one reported; with `check_staff` a
        number that is a staff extension is refused."""
        plan = self._plan()
        staff = set(plan.staff) if check_staff and plan else None
        return await import_csv(self.missed.contacts, text, self._country(), self.missed.now(), staff=staff,
                                dry_run=dry_run)

    async def export_contacts(self) -> str:
        """Every contact as CSV."""
        return export_csv(await self.missed.contacts.list(limit=1_000_000))
