"""Staff accounts of the web console: scrypt password hashes, one of the staff roles each."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ivr.errors import InvalidInput, IvrError, NotFound
from ivr.store.db import Database
from ivr.security.passwords import weakness
from ivr.security.roles import STAFF_ROLES
from ivr.store.models import ConsoleSessionRow, UserRow

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# scrypt cost: ~50 ms per check on this class of machine, far too slow to guess at scale.
_N, _R, _P = 2**14, 8, 1


class WrongPassword(IvrError):
    status_code = 403
    error_id = "wrong-password"


class UserExists(IvrError):
    status_code = 409
    error_id = "user-exists"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    extension: str
    language: str = ""               # the console's language; "": the plan's


def _check_strength(password: str, username: str) -> None:
    if weak := weakness(password, username):
        raise InvalidInput(f"password: too weak: {weak}")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        again = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(again.hex(), digest)


def _user(row: UserRow) -> User:
    return User(row.id, row.username, row.role, row.extension, row.language or "")


class UserStore:
    def __init__(self, db: Database):
        self._db = db

    async def add(self, username: str, password: str, role: str, extension: str = "") -> User:
        if not _USERNAME.match(username):
            raise InvalidInput(f"user name {username!r}: use 2-64 lower-case letters, digits, '.', '_' or '-'")
        if role not in STAFF_ROLES:
            raise InvalidInput(f"role {role!r}: must be one of {', '.join(STAFF_ROLES)}")
        _check_strength(password, username)
        row = UserRow(username=username, password_hash=hash_password(password), role=role,
                      extension=extension, created_at=datetime.now(UTC))
        try:
            async with self._db.session() as session, session.begin():
                session.add(row)
        except IntegrityError:
            raise UserExists(f"user {username!r} already exists") from None
        return _user(row)

    async def authenticate(self, username: str, password: str) -> User | None:
        async with self._db.session() as session:
            row = await session.scalar(select(UserRow).where(UserRow.username == username))
        if row is None:
            check_password(password, hash_password("timing-equaliser"))   # same cost either way
            return None
        if not check_password(password, row.password_hash):
            return None
        return _user(row)

    async def get(self, user_id: int) -> User:
        async with self._db.session() as session:
            row = await session.get(UserRow, user_id)
        if row is None:
            raise NotFound(f"no user {user_id}")
        return _user(row)

    async def set_language(self, user_id: int, language: str) -> User:
        async with self._db.session() as session, session.begin():
            row = await session.get(UserRow, user_id)
            if row is None:
                raise NotFound(f"no user {user_id}")
            row.language = language
        return _user(row)

    async def update(self, user_id: int, role: str, extension: str) -> User:
        if role not in STAFF_ROLES:
            raise InvalidInput(f"role {role!r}: must be one of {', '.join(STAFF_ROLES)}")
        if extension and not extension.isdigit():
            raise InvalidInput(f"extension {extension!r}: digits only")
        async with self._db.session() as session, session.begin():
            row = await session.get(UserRow, user_id)
            if row is None:
                raise NotFound(f"no user {user_id}")
            row.role, row.extension = role, extension
        return _user(row)

    async def all(self) -> list[User]:
        async with self._db.session() as session:
            rows = (await session.scalars(select(UserRow).order_by(UserRow.username))).all()
        return [_user(row) for row in rows]

    async def count(self) -> int:
        async with self._db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(UserRow)) or 0)

    async def change_password(self, username: str, current: str, new: str) -> User:
        """The user's own change: the current password first (WrongPassword), then as set_password."""
        if await self.authenticate(username, current) is None:
            raise WrongPassword(f"the current password of {username!r} is wrong")
        return await self.set_password(username, new)

    async def set_password(self, username: str, password: str) -> User:
        """A new password; every console session of the user ends with it."""
        _check_strength(password, username)
        async with self._db.session() as session, session.begin():
            row = await session.scalar(select(UserRow).where(UserRow.username == username))
            if row is None:
                raise NotFound(f"no user {username!r}")
            row.password_hash = hash_password(password)
            await session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.user_id == row.id))
        return _user(row)
