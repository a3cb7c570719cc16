"""Login throttling: after LIMIT failures in a row for one user name or one address, further
attempts are refused for a time that doubles with every further failure (up to MAX_LOCK).
Kept in memory: a restart forgets it, which costs an attacker a restart of the PBX per round."""
from __future__ import annotations

import math
from dataclasses import dataclass

LIMIT = 5
FIRST_LOCK = 30.0
MAX_LOCK = 3600.0
MAX_RECORDS = 10_000       # many addresses: unlocked records are forgotten first


@dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0


class LoginThrottle:
    def __init__(self, limit: int = LIMIT, first_lock: float = FIRST_LOCK, max_lock: float = MAX_LOCK):
        self.limit, self.first_lock, self.max_lock = limit, first_lock, max_lock
        self._records: dict[str, _Record] = {}

    def retry_after(self, keys: tuple[str, ...], now: float) -> int:
        """Whole seconds until these keys (user:NAME, addr:IP) may try again; 0 when they may now."""
        wait = max((self._records[k].locked_until - now for k in keys if k in self._records), default=0.0)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, keys: tuple[str, ...], now: float) -> int:
        """Counts a failure; the lock (seconds) it starts, or 0."""
        if len(self._records) > MAX_RECORDS:
            self._records = {k: r for k, r in self._records.items() if r.locked_until > now}
        longest = 0.0
        for key in keys:
            record = self._records.setdefault(key, _Record())
            record.failures += 1
            if record.failures >= self.limit:
                lock = min(self.first_lock * 2 ** (record.failures - self.limit), self.max_lock)
                record.locked_until = now + lock
                longest = max(longest, lock)
        return math.ceil(longest)

    def succeeded(self, keys: tuple[str, ...]) -> None:
        for key in keys:
            self._records.pop(key, None)
