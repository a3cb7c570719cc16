"""The audit log: who did what and when. The web guard writes the entries of audited routes (see
ivr/web/access.py); the CLI writes its own (users, tokens, plan apply and rollback)."""
from __future__ import annotations

import asyncio
import getpass
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ivr.clock import utc_now
from ivr.config import Settings
from ivr.store.db import Database, open_database
from ivr.store.models import AuditRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    address: str
    outcome: str

    def to_dict(self) -> dict:
        return {"id": self.id, "at": self.at.isoformat(), "actor": self.actor, "action": self.action,
                "target": self.target, "address": self.address, "outcome": self.outcome}


def cli_actor() -> str:
    """The operating-system user running an `ivr` command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:?"


class AuditLog:
    def __init__(self, db: Database):
        self._db = db

    async def record(self, at: datetime, actor: str, action: str, target: str = "", address: str = "",
                     outcome: str = "ok") -> None:
        row = AuditRow(at=at, actor=actor[:80], action=action, target=target[:200], address=address[:64],
                       outcome=outcome)
        async with self._db.session() as session, session.begin():
            session.add(row)
        log.info("audit actor=%s action=%s target=%s address=%s outcome=%s", actor, action, target, address, outcome)

    async def list(self, limit: int = 100, since: datetime | None = None, action: str | None = None,
                   actor: str | None = None) -> list[AuditEntry]:
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if since is not None:
            query = query.where(AuditRow.at >= since)
        if action:
            query = query.where(AuditRow.action == action)
        if actor:
            query = query.where(AuditRow.actor == actor)
        async with self._db.session() as session:
            return [AuditEntry(r.id, r.at, r.actor, r.action, r.target, r.address, r.outcome)
                    for r in await session.scalars(query)]


def record_from_cli(settings: Settings, action: str, target: str) -> None:
    """An entry for an `ivr` command (plan apply, users, tokens), by the operating-system user."""
    async def run():
        db = await open_database(settings.database_url, settings)
        try:
            await AuditLog(db).record(utc_now(), cli_actor(), action, target)
        finally:
            await db.close()

    asyncio.run(run())
