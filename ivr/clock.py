"""The wall clock, or a fixed starting time that then runs in real time (tests, demos)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone


class Clock:
    def __init__(self, start: datetime | None = None):
        self._start = start
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        if self._start is None:
            return datetime.now(timezone.utc)
        return self._start + timedelta(seconds=time.monotonic() - self._t0)


def parse_aware(raw: str, what: str) -> datetime:
    """An ISO 8601 time with its UTC offset, or InvalidInput naming the field."""
    from ivr.errors import InvalidInput

    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{what}: {raw!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise InvalidInput(f"{what}: {raw!r} needs a UTC offset, e.g. {raw}+03:00")
    return value


def utc_now() -> datetime:
    """The real time, for sessions, tokens and the audit log: never the service's test or demo clock."""
    return datetime.now(timezone.utc)
