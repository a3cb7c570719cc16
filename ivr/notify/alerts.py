"""Mails about the PBX's own trouble (a trunk whose registration fails, and when it is back) to the
`alerts:` addresses of notifications.yaml, through the same durable outbox as missed-call mails."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from ivr.notify.config import NotifyConfig
from ivr.notify.outbox import enqueue
from ivr.store.db import Database

log = logging.getLogger(__name__)


class Alerts:
    def __init__(self, db: Database, config: Callable[[], NotifyConfig], now: Callable[[], datetime],
                 kick: Callable[[], None]):
        self._db, self._config, self._now, self._kick = db, config, now, kick

    async def __call__(self, key: str, subject: str, body: str) -> None:
        config = self._config()
        if not config.alerts:
            log.warning("alert not mailed (no alerts: in notifications.yaml): %s", subject)
            return
        async with self._db.session() as session, session.begin():
            for address in config.alerts:
                await enqueue(session, f"alert:{key}:{address}", "mail", address,
                              {"subject": subject, "body": body}, self._now())
        self._kick()
