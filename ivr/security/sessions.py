"""Console sessions kept in the database, by the SHA-256 of the cookie's random id: deleting a row
(logout, password change) ends that session everywhere at once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from ivr.store.db import Database
from ivr.store.models import ConsoleSessionRow


class SessionStore:
    def __init__(self, db: Database):
        self._db = db

    async def add(self, id_hash: str, user_id: int, csrf: str, now: datetime, expires: datetime) -> None:
        async with self._db.session() as db, db.begin():
            # Expired sessions of anyone are dropped here, so the table stays small.
            await db.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at <= now))
            db.add(ConsoleSessionRow(id_hash=id_hash, user_id=user_id, csrf=csrf, created_at=now, expires_at=expires))

    async def find(self, id_hash: str, now: datetime) -> tuple[int, str, datetime] | None:
        """(user id, CSRF token, expiry) of a session still valid at `now`."""
        async with self._db.session() as db:
            row = await db.scalar(select(ConsoleSessionRow).where(ConsoleSessionRow.id_hash == id_hash))
        if row is None or row.expires_at <= now:
            return None
        return row.user_id, row.csrf, row.expires_at

    async def remove(self, id_hash: str) -> None:
        async with self._db.session() as db, db.begin():
            await db.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.id_hash == id_hash))
