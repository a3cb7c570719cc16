"""One method per event of the missed-call list; each queues its notifications in the outbox inside
the transaction of the change (so they exist together with it, or not at all)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from ivr.notify.config import NotifyConfig, Rule
from ivr.notify.outbox import enqueue

if TYPE_CHECKING:      # the missed-call list calls the notifier; it only reads its values
    from ivr.missed.store import MissedCall, MissedItem


def rule_matches(rule: Rule, miss: MissedCall) -> bool:
    if miss.short and not rule.short:
        return False
    if rule.callers and not any(miss.customer.startswith(p) for p in rule.callers):
        return False
    watched = bool(rule.numbers or rule.extensions)
    if not watched:
        return True
    return miss.company_number in rule.numbers or any(e in rule.extensions for e in miss.rung)


def recipients(rule: Rule, miss: MissedCall, staff_mail: dict[str, str]) -> list[str]:
    """Who gets this rule's mail: with only_called, the staff whose phones rang (when none rang,
    the rule's own recipients stand in, so the call is never reported to nobody)."""
    if rule.only_called:
        called = [staff_mail[e] for e in miss.rung if e in staff_mail]
        if called:
            return list(dict.fromkeys(called))
    return list(dict.fromkeys(rule.recipients))


def digest_due(now: datetime, minutes: int) -> datetime:
    """The end of the current digest period: periods are aligned on the hour."""
    step = minutes * 60
    epoch = int(now.timestamp())
    return datetime.fromtimestamp((epoch // step + 1) * step, tz=now.tzinfo)


class Notifier:
    def __init__(self, config: Callable[[], NotifyConfig], timezone: Callable[[], str],
                 now: Callable[[], datetime]):
        self._config, self._timezone, self._now = config, timezone, now

    def link(self, item: MissedItem) -> str:
        return f"{self._config().console_url}/missed/{item.id}"

    async def __call__(self, session: AsyncSession, item: MissedItem, event: str, miss: MissedCall | None) -> None:
        """The `on_change` of MissedStore: route an event to its method."""
        now = self._now()
        if event == "missed" and miss is not None:
            await self.missed(session, item, miss, now)
        await self.webhook(session, item, event, miss, now)

    async def missed(self, session: AsyncSession, item: MissedItem, miss: MissedCall, now: datetime) -> None:
        config = self._config()
        tz = ZoneInfo(self._timezone())
        facts = {"item_id": item.id, "call_id": miss.call_id, "customer": miss.customer,
                 "contact_name": item.contact_name, "company_number": miss.company_number,
                 "source": miss.source, "at": miss.at.astimezone(tz).isoformat(), "reason": miss.reason,
                 "node": miss.node, "short": miss.short, "count": item.count, "voicemail": miss.voicemail,
                 "steps": list(miss.steps), "link": self.link(item)}
        sent: set[tuple[str, str]] = set()
        for rule in config.rules:
            if not rule_matches(rule, miss):
                continue
            channel = "digest" if rule.digest_minutes else "mail"
            for address in recipients(rule, miss, config.staff_mail):
                if (channel, address) in sent:
                    continue             # two rules naming one person: one mail
                sent.add((channel, address))
                due = digest_due(now, rule.digest_minutes) if rule.digest_minutes else None
                await enqueue(session, f"{channel}:call{miss.call_id}:{address}", channel, address,
                              {"language": rule.language, "facts": facts}, now, due)

    async def webhook(self, session: AsyncSession, item: MissedItem, event: str, miss: MissedCall | None,
                      now: datetime) -> None:
        body: dict[str, Any] = {"event": event, "item": _webhook_item(item, self.link(item))}
        # One key per event of the item: a replay after a crash finds the key and adds nothing.
        suffix = f"call{miss.call_id}" if miss is not None else f"{event}{_stamp(item, event)}"
        if miss is not None:
            body["call"] = {"id": miss.call_id, "reason": miss.reason, "node": miss.node, "short": miss.short,
                            "at": miss.at.isoformat(), "voicemail": bool(miss.voicemail)}
        for hook in self._config().webhooks:
            if event not in hook.events:
                continue
            key = f"webhook:item{item.id}:{suffix}:{hook.url}"
            await enqueue(session, key, "webhook", hook.url, {**body, "idempotency_key": key}, now)


def _stamp(item: MissedItem, event: str) -> str:
    at = item.taken_at if event == "taken" else item.closed_at
    return f"@{at.isoformat()}" if at else ""


def _webhook_item(item: MissedItem, link: str) -> dict[str, Any]:
    data = item.to_dict()
    data.pop("events", None)
    data["link"] = link
    return data

