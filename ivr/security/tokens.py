"""API tokens: `Authorization: Bearer ivr_...`. A token is shown once when it is made; only its
SHA-256 is stored (the token is 32 random bytes, so a plain hash is enough: there is nothing to
guess). Each use is checked against the database, so a revoked token fails at the next request."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ivr.errors import InvalidInput, NotFound
from ivr.security.roles import ROLES
from ivr.store.db import Database
from ivr.store.models import ApiTokenRow

PREFIX = "ivr_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_DURATION = re.compile(r"^(\d+)([hdw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "role": self.role, "created_at": self.created_at.isoformat(),
                "expires_at": self.expires_at.isoformat() if self.expires_at else None,
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
                "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _token(row: ApiTokenRow) -> Token:
    return Token(row.id, row.name, row.role, row.created_at, row.expires_at, row.revoked_at, row.last_used_at)


def parse_expiry(raw: str, now: datetime) -> datetime:
    """`--expires`: 12h, 30d, 8w, or an ISO date/time with its offset."""
    if match := _DURATION.match(raw.strip()):
        return now + int(match.group(1)) * _UNITS[match.group(2)]
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(f"--expires {raw!r}: give 12h, 30d, 8w or a time like 2027-01-31T18:00+03:00") from None
    if when.tzinfo is None:
        raise InvalidInput(f"--expires {raw!r}: the time needs a UTC offset, e.g. +03:00")
    if when <= now:
        raise InvalidInput(f"--expires {raw!r} is in the past")
    return when


class TokenStore:
    def __init__(self, db: Database):
        self._db = db

    async def create(self, name: str, role: str, now: datetime, expires_at: datetime | None = None) -> tuple[Token, str]:
        """The new token and its secret, which is never stored and cannot be shown again."""
        if not _NAME.match(name):
            raise InvalidInput(f"token name {name!r}: use up to 64 letters, digits, '.', '_', ':' or '-'")
        if role not in ROLES:
            raise InvalidInput(f"role {role!r}: must be one of {', '.join(ROLES)}")
        secret = PREFIX + secrets.token_urlsafe(32)
        row = ApiTokenRow(name=name, role=role, token_hash=_digest(secret), created_at=now, expires_at=expires_at)
        async with self._db.session() as session, session.begin():
            session.add(row)
        return _token(row), secret

    async def verify(self, secret: str, now: datetime) -> Token | None:
        if not secret.startswith(PREFIX):
            return None
        async with self._db.session() as session, session.begin():
            row = await session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == _digest(secret)))
            if row is None or not _token(row).active(now):
                return None
            # Written at most once a minute: a busy integration must not turn every read into a write.
            if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
                row.last_used_at = now
            return _token(row)

    async def list(self, include_revoked: bool = False) -> list[Token]:
        query = select(ApiTokenRow).order_by(ApiTokenRow.id)
        if not include_revoked:
            query = query.where(ApiTokenRow.revoked_at.is_(None))
        async with self._db.session() as session:
            return [_token(r) for r in await session.scalars(query)]

    async def revoke(self, name_or_id: str, now: datetime) -> list[Token]:
        """Revokes the token with this id, or every active token with this name."""
        where = (ApiTokenRow.id == int(name_or_id)) if name_or_id.isdigit() else (ApiTokenRow.name == name_or_id)
        async with self._db.session() as session, session.begin():
            rows = list(await session.scalars(select(ApiTokenRow).where(where, ApiTokenRow.revoked_at.is_(None))))
            if not rows:
                raise NotFound(f"no active token {name_or_id!r}")
            await session.execute(update(ApiTokenRow).where(ApiTokenRow.id.in_([r.id for r in rows]))
                                  .values(revoked_at=now))
        return [_token(r) for r in rows]
