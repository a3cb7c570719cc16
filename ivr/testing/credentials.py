"""Credentials for tests that drive the web API: a fresh token of a role, as request headers."""
from __future__ import annotations

from ivr.clock import utc_now
from ivr.security.tokens import TokenStore
from ivr.store.db import Database


async def bearer(db: Database, role: str = "admin", name: str = "test") -> dict[str, str]:
    _, secret = await TokenStore(db).create(f"{name}-{role}", role, utc_now())
    return {"Authorization": f"Bearer {secret}"}


def same_origin(base_url: str) -> dict[str, str]:
    """The Origin header a browser sends with a form post from the console's own page."""
    return {"Origin": base_url.rstrip("/")}
