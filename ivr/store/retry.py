"""Writes that must not be lost while the database restarts: tried again until it answers."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError

log = logging.getLogger(__name__)
T = TypeVar("T")
# Long enough for a PostgreSQL restart or fail-over; a call's task waits that long at most.
RETRY_SECONDS = 120.0


def _transient(error: BaseException) -> bool:
    """The database was away (refused, restarting, connection dropped), not a wrong statement."""
    if isinstance(error, (IntegrityError, ProgrammingError, DataError)):
        return False
    if isinstance(error, (DBAPIError, OSError)):
        return True
    try:        # a new connection to a PostgreSQL starting or shutting down fails with asyncpg's own
        from asyncpg.exceptions import InterfaceError, OperatorInterventionError, PostgresConnectionError
    except ImportError:
        return False
    return isinstance(error, (InterfaceError, OperatorInterventionError, PostgresConnectionError))


async def until_stored(write: Callable[[], Awaitable[T]], what: str, seconds: float = RETRY_SECONDS) -> T:
    deadline = time.monotonic() + seconds
    delay = 0.25
    while True:
        try:
            return await write()
        except Exception as e:
            if not _transient(e) or time.monotonic() + delay > deadline:
                raise
            log.warning("database away, %s again in %.1f s error=%s", what, delay, str(e).splitlines()[0][:200])
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)
