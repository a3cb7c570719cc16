"""Console sessions kept in the database (ivr/security/sessions.py). The cookie holds a random id;
the server keeps its SHA-256 with the user, the CSRF token and the expiry, so logout and a password
change end a session everywhere at once, and a copied cookie is worth nothing afterwards.

Cookies are HttpOnly and SameSite=Strict, and Secure when the console's public URL is https."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from ivr.security.sessions import SessionStore

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
    def __init__(self, store: SessionStore, secure: bool = False):
        self._store, self._secure = store, secure

    async def issue(self, response: web.StreamResponse, user_id: int, now: datetime) -> Session:
        raw = secrets.token_urlsafe(32)
        session = Session(user_id, secrets.token_urlsafe(24), now + LIFETIME)
        await self._store.add(_digest(raw), user_id, session.csrf, now, session.expires)
        response.set_cookie(COOKIE, raw, max_age=int(LIFETIME.total_seconds()), httponly=True,
                            samesite="Strict", secure=self._secure, path="/")
        return session

    async def read(self, request: web.Request, now: datetime) -> Session | None:
        raw = request.cookies.get(COOKIE, "")
        if not raw:
            return None
        found = await self._store.find(_digest(raw), now)
        return Session(*found) if found else None

    async def revoke(self, request: web.Request, response: web.StreamResponse) -> None:
        raw = request.cookies.get(COOKIE, "")
        if raw:
            await self._store.remove(_digest(raw))
        response.del_cookie(COOKIE, path="/")
