"""A console log-in: the password checked, throttled per user name and per address (after LIMIT
failures in a row, ivr/security/throttle.py), and audited whatever came of it."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ivr.clock import utc_now
from ivr.security.audit import AuditLog
from ivr.security.throttle import LoginThrottle

if TYPE_CHECKING:                  # ivr.users sits above security (it checks password strength)
    from ivr.users import User, UserStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoginResult:
    user: User | None              # None: refused
    retry_after: int = 0           # seconds: refused unchecked, too many failures


class Logins:
    def __init__(self, users: UserStore, throttle: LoginThrottle, audit: AuditLog,
                 now: Callable[[], datetime] = utc_now, monotonic: Callable[[], float] = time.monotonic):
        self.users, self.throttle, self.audit, self.now, self.monotonic = users, throttle, audit, now, monotonic

    async def log_in(self, username: str, password: str, address: str) -> LoginResult:
        keys = (f"user:{username}", f"addr:{address}")
        wait = self.throttle.retry_after(keys, self.monotonic())
        if wait:
            log.warning("login throttled user=%s address=%s retry_after=%s", username, address, wait)
            await self.audit.record(self.now(), username, "login", address=address, outcome="throttled")
            return LoginResult(None, wait)
        user = await self.users.authenticate(username, password)
        if user is None:
            lock = self.throttle.failed(keys, self.monotonic())
            log.warning("login failed user=%s address=%s locked_for=%s", username, address, lock)
            await self.audit.record(self.now(), username, "login", address=address, outcome="failed")
            return LoginResult(None)
        self.throttle.succeeded(keys)
        await self.audit.record(self.now(), user.username, "login", address=address)
        return LoginResult(user)
