"""What each advert cost: an admin enters a source's spend over some days; a report's period gets the
share of each entry for the days they have in common."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from ivr.errors import InvalidInput
from ivr.store.db import Database
from ivr.store.models import AdSpendRow


@dataclass(frozen=True)
class Spend:
    id: int
    source: str
    first_day: date
    last_day: date
    amount: Decimal
    entered_by: str


def parse_amount(raw: str) -> Decimal:
    try:
        amount = Decimal(raw.replace(" ", "").replace(",", "."))
    except InvalidOperation:
        raise InvalidInput(f"amount: {raw!r} is not a number") from None
    if amount < 0:
        raise InvalidInput("amount: must not be negative")
    return amount


class SpendStore:
    def __init__(self, db: Database):
        self._db = db

    async def add(self, source: str, first_day: date, last_day: date, amount: Decimal, by: str) -> Spend:
        if not source.strip():
            raise InvalidInput("source: must not be empty")
        if last_day < first_day:
            raise InvalidInput(f"last day {last_day} is before the first day {first_day}")
        row = AdSpendRow(source=source.strip(), first_day=first_day, last_day=last_day, amount=amount,
                         entered_by=by)
        async with self._db.session() as session, session.begin():
            session.add(row)
        return Spend(row.id, row.source, first_day, last_day, amount, by)

    async def list(self) -> list[Spend]:
        async with self._db.session() as session:
            rows = (await session.scalars(select(AdSpendRow).order_by(AdSpendRow.first_day.desc()))).all()
        return [Spend(r.id, r.source, r.first_day, r.last_day, Decimal(r.amount), r.entered_by) for r in rows]

    async def for_period(self, first: date, last: date) -> dict[str, Decimal]:
        """Spend per source in [first, last]: each entry prorated by the days it shares with them."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for s in await self.list():
            start, end = max(first, s.first_day), min(last, s.last_day)
            if start <= end:
                share = Decimal((end - start).days + 1) / Decimal((s.last_day - s.first_day).days + 1)
                totals[s.source] += (s.amount * share).quantize(Decimal("0.01"))
        return dict(totals)
