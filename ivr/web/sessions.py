"""Console sessions kept in the database. The cookie holds a random id; the server keeps its
SHA-256 with the user, the CSRF token and the expiry, so logout and a password change end a
session everywhere at once, and a copied cookie is worth nothing afterwards.

Cookies are HttpOnly and SameSite=Strict, and Secure when the console's public URL is https."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import delete, select

from ivr.store.db import Database
from ivr.store.models import ConsoleSessionRow

COOKIE = "ivr_session"
LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Session:
    user_id: int
    csrf: str
    expires: datetime


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class Sessions:
    def __init__(self, db: Database, secure: bool = False):
        self._db, self._secure = db, secure

    async def issue(self, response: web.StreamResponse, user_id: int, now: datetime) -> Session:
        raw = secrets.token_urlsafe(32)
        session = Session(user_id, secrets.token_urlsafe(24), now + LIFETIME)
        async with self._db.session() as db, db.begin():
            # Expired sessions of anyone are dropped here, so the table stays small.
            await db.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at <= now))
            db.add(ConsoleSessionRow(id_hash=_digest(raw), user_id=user_id, csrf=session.csrf,
                                     created_at=now, expires_at=session.expires))
        response.set_cookie(COOKIE, raw, max_age=int(LIFETIME.total_seconds()), httponly=True,
                            samesite="Strict", secure=self._secure, path="/")
        return session

    async def read(self, request: web.Request, now: datetime) -> Session | None:
        raw = request.cookies.get(COOKIE, "")
        if not raw:
            return None
        async with self._db.session() as db:
            row = await db.scalar(select(ConsoleSessionRow).where(ConsoleSessionRow.id_hash == _digest(raw)))
        if row is None or row.expires_at <= now:
            return None
        return Session(row.user_id, row.csrf, row.expires_at)

    async def revoke(self, request: web.Request, response: web.StreamResponse) -> None:
        raw = request.cookies.get(COOKIE, "")
        if raw:
            async with self._db.session() as db, db.begin():
                await db.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.id_hash == _digest(raw)))
        response.del_cookie(COOKIE, path="/")
