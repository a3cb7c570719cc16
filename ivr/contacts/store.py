"""Contacts in the database: a name, several numbers (E.164, each belongs to one contact), company,
responsible manager (a staff extension), VIP mark and notes."""
from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ivr.errors import InvalidInput, IvrError, NotFound
from ivr.store.db import Database
from ivr.store.models import ContactNumberRow, ContactRow


class ContactNotFound(NotFound):
    error_id = "contact-not-found"


class NumberTaken(IvrError):
    status_code = 409
    error_id = "contact-number-taken"


@dataclass(frozen=True)
class ContactData:
    """What a person enters for a contact; numbers already normalised to E.164."""

    name: str
    numbers: tuple[str, ...]
    company: str = ""
    manager: str = ""
    vip: bool = False
    notes: str = ""


@dataclass(frozen=True)
class Contact:
    id: int
    name: str
    numbers: tuple[str, ...]
    company: str
    manager: str
    vip: bool
    notes: str
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "numbers": list(self.numbers), "company": self.company,
                "manager": self.manager, "vip": self.vip, "notes": self.notes,
                "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat()}


@dataclass(frozen=True)
class SaveResult:
    created: int = 0
    updated: int = 0
    ids: tuple[int, ...] = field(default_factory=tuple)


class ContactStore:
    def __init__(self, db: Database):
        self._db = db

    async def add(self, data: ContactData, now: datetime) -> Contact:
        async with self._db.session() as session, session.begin():
            row = await self._write(session, None, data, now)
        return await self.get(row.id)

    async def update(self, contact_id: int, data: ContactData, now: datetime) -> Contact:
        async with self._db.session() as session, session.begin():
            await self._write(session, contact_id, data, now)
        return await self.get(contact_id)

    async def save_many(self, items: list[tuple[int | None, ContactData]], now: datetime) -> SaveResult:
        """Create or update (by id) several contacts in one transaction: all or none."""
        created = updated = 0
        ids = []
        async with self._db.session() as session, session.begin():
            for contact_id, data in items:
                row = await self._write(session, contact_id, data, now)
                ids.append(row.id)
                created, updated = (created + 1, updated) if contact_id is None else (created, updated + 1)
        return SaveResult(created, updated, tuple(ids))

    async def delete(self, contact_id: int) -> None:
        async with self._db.session() as session, session.begin():
            if (await session.execute(delete(ContactRow).where(ContactRow.id == contact_id))).rowcount == 0:
                raise ContactNotFound(f"no contact {contact_id}")

    async def get(self, contact_id: int) -> Contact:
        async with self._db.session() as session:
            row = await session.scalar(_query().where(ContactRow.id == contact_id))
        if row is None:
            raise ContactNotFound(f"no contact {contact_id}")
        return _contact(row)

    async def by_number(self, number: str) -> Contact | None:
        """The contact that has `number`: asked by every call, so one prebuilt statement (Database.run)."""
        return await self._db.run(self.lookup(number))

    def lookup(self, number: str) -> Callable[[Connection], Contact | None]:
        """`by_number` as work for Database.run, for a caller that runs it with its own in one hop."""
        return lambda conn: _by_number(conn, number)

    async def owners(self, numbers: builtins.list[str]) -> dict[str, int]:
        """number -> id of the contact that has it, for the numbers already stored."""
        if not numbers:
            return {}
        async with self._db.session() as session:
            rows = (await session.execute(select(ContactNumberRow.number, ContactNumberRow.contact_id)
                                          .where(ContactNumberRow.number.in_(numbers)))).all()
        return {number: contact_id for number, contact_id in rows}

    async def existing_ids(self, ids: builtins.list[int]) -> set[int]:
        if not ids:
            return set()
        async with self._db.session() as session:
            return set((await session.scalars(select(ContactRow.id).where(ContactRow.id.in_(ids)))).all())

    async def list(self, search: str = "", limit: int = 1000) -> builtins.list[Contact]:
        query = _query().order_by(ContactRow.name, ContactRow.id).limit(limit)
        if search:
            like = f"%{search}%"
            query = query.where(or_(ContactRow.name.ilike(like), ContactRow.company.ilike(like),
                                    ContactRow.id.in_(select(ContactNumberRow.contact_id)
                                                      .where(ContactNumberRow.number.like(like)))))
        async with self._db.session() as session:
            return [_contact(r) for r in (await session.scalars(query)).all()]

    @staticmethod
    async def _write(session: AsyncSession, contact_id: int | None, data: ContactData, now: datetime) -> ContactRow:
        if not data.name.strip():
            raise InvalidInput("a contact needs a name")
        if not data.numbers:
            raise InvalidInput(f"contact {data.name!r} needs at least one number")
        taken = (await session.execute(select(ContactNumberRow.number, ContactNumberRow.contact_id)
                                       .where(ContactNumberRow.number.in_(data.numbers)))).all()
        for number, owner in taken:
            if owner != contact_id:
                raise NumberTaken(f"{number} belongs to contact {owner} already", {"number": number, "contact": owner})
        if contact_id is None:
            row = ContactRow(created_at=now)
            session.add(row)
        else:
            row = await session.get(ContactRow, contact_id, with_for_update=True)
            if row is None:
                raise ContactNotFound(f"no contact {contact_id}")
        row.name, row.company, row.manager = data.name.strip(), data.company, data.manager
        row.vip, row.notes, row.updated_at = data.vip, data.notes, now
        await session.flush()
        await session.execute(delete(ContactNumberRow).where(ContactNumberRow.contact_id == row.id))
        await session.flush()
        for number in dict.fromkeys(data.numbers):
            session.add(ContactNumberRow(contact_id=row.id, number=number))
        await session.flush()
        return row


_CONTACTS, _NUMBERS = ContactRow.__table__, ContactNumberRow.__table__
_WANTED, _ALL = _NUMBERS.alias("wanted"), _NUMBERS.alias("all_numbers")
# The contact that has a number, once per number it has (oldest first): one statement, built once.
_BY_NUMBER = (select(_CONTACTS, _ALL.c.number.label("each_number"))
              .select_from(_WANTED.join(_CONTACTS, _CONTACTS.c.id == _WANTED.c.contact_id)
                           .join(_ALL, _ALL.c.contact_id == _CONTACTS.c.id))
              .where(_WANTED.c.number == bindparam("number")).order_by(_ALL.c.id))


def _by_number(conn: Connection, number: str) -> Contact | None:
    rows = conn.execute(_BY_NUMBER, {"number": number}).all()
    if not rows:
        return None
    r = rows[0]
    return Contact(id=r.id, name=r.name, numbers=tuple(row.each_number for row in rows), company=r.company,
                   manager=r.manager, vip=r.vip, notes=r.notes, created_at=r.created_at, updated_at=r.updated_at)


def _query():
    return select(ContactRow).options(selectinload(ContactRow.numbers))


def _contact(row: ContactRow) -> Contact:
    return Contact(id=row.id, name=row.name, numbers=tuple(n.number for n in row.numbers), company=row.company,
                   manager=row.manager, vip=row.vip, notes=row.notes, created_at=row.created_at,
                   updated_at=row.updated_at)
