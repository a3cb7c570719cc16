"""The toll-fraud guard's alert: one audit entry and one mail per address to the plan's
`limits: alert_to`, once a day per limit and level (the outbox key makes a restarted service's
repeat a no-op)."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, time
from zoneinfo import ZoneInfo

from ivr.clock import utc_now
from ivr.notify.outbox import enqueue
from ivr.security.audit import AuditLog
from ivr.store.db import Database

log = logging.getLogger(__name__)
ALERT_SHARE = 0.8


def day_start(now: datetime, timezone: str) -> datetime:
    """Midnight of `now`'s day in the plan's time zone: where a day's count begins."""
    local = now.astimezone(ZoneInfo(timezone))
    return datetime.combine(local.date(), time(0), tzinfo=local.tzinfo)


async def limit_alert(db: Database, key: str, level: str, what: str, subject: str, text: str,
                      addresses: Iterable[str], now: datetime) -> None:
    """`key` names the day, the limit and the level ("2026-12-06:phone:101:stop"); `level` is
    alert (80 %) or stop (100 %); `now` is the service's clock, for the mail."""
    log.warning("daily limit %s: %s", level, what)
    await AuditLog(db).record(utc_now(), "toll-guard", f"limit.{level}", what)
    async with db.session() as session, session.begin():
        for address in addresses:
            await enqueue(session, f"limit:{key}:{address}", "mail", address,
                          {"subject": subject, "body": text}, now)
