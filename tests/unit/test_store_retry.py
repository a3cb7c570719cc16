"""A write retried while the database is away, and only then: a wrong statement fails at once."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from ivr.store import retry
from ivr.store.retry import until_stored


async def test_a_write_is_retried_until_the_database_answers(monkeypatch):
    monkeypatch.setattr(retry.asyncio, "sleep", _no_wait)
    tries = []

    async def write() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise OperationalError("UPDATE calls", {}, ConnectionRefusedError(111, "refused"))
        return "stored"

    assert await until_stored(write, "storing") == "stored"
    assert len(tries) == 3


async def test_a_refused_connection_and_a_restarting_server_count_as_away(monkeypatch):
    from asyncpg.exceptions import CannotConnectNowError

    monkeypatch.setattr(retry.asyncio, "sleep", _no_wait)
    errors = [ConnectionRefusedError(111, "refused"), CannotConnectNowError("the database system is starting up")]

    async def write() -> int:
        if errors:
            raise errors.pop(0)
        return 1

    assert await until_stored(write, "storing") == 1


async def test_a_wrong_statement_is_not_retried():
    tries = []

    async def write() -> None:
        tries.append(1)
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    with pytest.raises(IntegrityError):
        await until_stored(write, "storing")
    assert tries == [1]


async def test_it_gives_up_after_its_time(monkeypatch):
    monkeypatch.setattr(retry.asyncio, "sleep", _no_wait)

    async def write() -> None:
        raise ConnectionRefusedError(111, "refused")

    with pytest.raises(ConnectionRefusedError):
        await until_stored(write, "storing", seconds=0.0)


async def _no_wait(_seconds: float) -> None:
    return None
