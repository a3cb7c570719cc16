"""Internal callers of the web API: the AGI script (role system) and the `ivr` commands on this
machine (role admin: whoever can read var/ can read the database anyway). The service makes their
tokens at start and keeps them in files only its own user can read; a file whose token was
revoked or lost is replaced by a fresh token."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ivr.clock import utc_now
from ivr.config import Settings
from ivr.security.roles import ADMIN, SYSTEM

if TYPE_CHECKING:       # the commands that only ask the service (ivr route) load no database code
    from ivr.store.db import Database

log = logging.getLogger(__name__)
AGI_TOKEN, CLI_TOKEN = "agi-token", "cli-token"
_KINDS = {AGI_TOKEN: ("service-agi", SYSTEM), CLI_TOKEN: ("service-cli", ADMIN)}


def token_path(settings: Settings, kind: str) -> Path:
    return settings.var / kind


async def provision(settings: Settings, db: Database) -> None:
    from ivr.security.audit import AuditLog
    from ivr.security.tokens import TokenStore
    tokens, audit = TokenStore(db), AuditLog(db)
    for kind, (name, role) in _KINDS.items():
        path = token_path(settings, kind)
        current = path.read_text().strip() if path.exists() else ""
        if current and await tokens.verify(current, utc_now()):
            continue
        token, secret = await tokens.create(name, role, utc_now())
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(".new")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret + "\n")
        scratch.replace(path)
        await audit.record(utc_now(), "service", "token.create", f"{token.name} ({role})")
        log.info("made the %s token %s (role %s) in %s", name, token.id, role, path)


def local_address(settings: Settings) -> tuple[str, int]:
    """Host and port of the running service's API as seen from this machine: with TLS on, its plain
    loopback listener."""
    if settings.tls_cert:
        return "127.0.0.1", settings.internal_port
    return ("127.0.0.1" if settings.web_host in ("0.0.0.0", "::", "") else settings.web_host), settings.web_port


def local_url(settings: Settings) -> str:
    host, port = local_address(settings)
    return f"http://{host}:{port}"


def local_headers(settings: Settings) -> dict[str, str]:
    """The `ivr` commands' credentials for the running service; none when the service never ran
    here or this user may not read var/ (the service then answers 401, which the command shows)."""
    try:
        return {"Authorization": f"Bearer {token_path(settings, CLI_TOKEN).read_text().strip()}"}
    except OSError:
        return {}
