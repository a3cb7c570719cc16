"""The toll-fraud guard of trunks and staff phones: outbound calls and minutes each used today
(midnight to midnight in the plan's time zone), counted from Asterisk's call detail records so a
restart keeps the count. At ALERT_SHARE of a limit an alert mail goes to `limits: alert_to`; at
the limit the router skips the trunk and refuses the phone (ivr.routing.router).

Records are written when a call ends: calls in flight are not counted yet."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ivr import i18n
from ivr.clock import utc_now
from ivr.i18n import _
from ivr.plan.model import DayCap, Plan
from ivr.security.toll_alert import ALERT_SHARE, day_start, limit_alert
from ivr.store.db import Database

if TYPE_CHECKING:
    from ivr.routing.report import Attempt


@dataclass
class Use:
    calls: int = 0
    seconds: float = 0.0

    def share(self, cap: DayCap) -> float:
        """The larger of the used shares of the call and the minute limit (0 when neither is set)."""
        return max(self.calls / cap.calls if cap.calls else 0.0,
                   self.seconds / 60 / cap.minutes if cap.minutes else 0.0)


@dataclass
class DayUse:
    trunks: dict[str, Use] = field(default_factory=dict)
    phones: dict[str, Use] = field(default_factory=dict)

    def trunk_full(self, plan: Plan, trunk: str) -> bool:
        cap = plan.limits.trunks.get(trunk, DayCap())
        return bool(cap) and self.trunks.get(trunk, Use()).share(cap) >= 1

    def phone_full(self, plan: Plan, phone: str) -> bool:
        cap = plan.limits.phone(phone)
        return bool(cap) and self.phones.get(phone, Use()).share(cap) >= 1


def phone_of_channel(name: str) -> str | None:
    """"PJSIP/101-0000001b" -> "101" (a staff phone's endpoint is its extension)."""
    tech, _, rest = name.partition("/")
    return rest.rsplit("-", 1)[0] or None if tech == "PJSIP" and "-" in rest else None


def day_use(attempts: Iterable[Attempt], since: datetime) -> DayUse:
    """A call is one trunk channel for a trunk, one call of the phone (its channel) for a phone,
    however many trunks it tried; minutes are billed seconds."""
    use = DayUse()
    phone_calls: dict[str, set[str]] = {}
    for a in attempts:
        if a.start < since:
            continue
        trunk = use.trunks.setdefault(a.trunk, Use())
        trunk.calls += 1
        trunk.seconds += a.seconds
        if a.caller and (phone := phone_of_channel(a.caller)):
            phone_calls.setdefault(phone, set()).add(a.caller)
            use.phones.setdefault(phone, Use()).seconds += a.seconds
    for phone, calls in phone_calls.items():
        use.phones[phone].calls = len(calls)
    return use


class TollGuard:
    """Today's use for the router (`Router(usage=guard.usage)`), alerting as it counts; `read`
    counts the call records since a moment (ivr.routing.report.read_day_use)."""

    def __init__(self, read: Callable[[datetime], DayUse], db: Database, now: Callable[[], datetime]):
        self.read, self.db, self.now = read, db, now
        self._told: set[str] = set()          # alert keys already sent by this process

    async def usage(self, plan: Plan) -> DayUse:
        if not plan.limits.trunks and not plan.limits.phones and not plan.limits.phone_caps:
            return DayUse()
        now = self.now()
        start = day_start(utc_now(), plan.timezone)    # Asterisk stamps its records in real time
        use = await asyncio.to_thread(self.read, start)
        day = start.date().isoformat()
        for name, cap in plan.limits.trunks.items():
            await self._check(plan, day, f"trunk {name}", f"trunk:{name}", use.trunks.get(name, Use()), cap, now)
        for phone in plan.staff:
            await self._check(plan, day, f"phone {phone}", f"phone:{phone}", use.phones.get(phone, Use()),
                              plan.limits.phone(phone), now)
        return use

    async def _check(self, plan: Plan, day: str, who: str, key: str, use: Use, cap: DayCap, now: datetime) -> None:
        share = use.share(cap) if cap else 0.0
        if share < ALERT_SHARE:
            return
        level = "stop" if share >= 1 else "alert"
        full = f"{day}:{key}:{level}"
        if full in self._told:
            return
        self._told.add(full)
        with i18n.language(plan.language):         # an alert mail speaks the plan's language
            what = _("%(who)s: %(calls)s of %(cap)s calls and %(minutes)s of %(cap_minutes)s minutes today",
                     who=who, calls=use.calls, cap=cap.calls or _("unlimited"), minutes=f"{use.seconds / 60:.0f}",
                     cap_minutes=cap.minutes or _("unlimited"))
            if level == "stop":
                subject = _("%(company)s: %(who)s stopped, daily limit reached (%(day)s)", company=plan.company,
                            who=who, day=day)
                then = (_("No further outside call is placed through it today.") if key.startswith("trunk:")
                        else _("It may not call outside again today."))
                text = _("%(what)s. %(then)s Raise `limits` in the plan if this use is expected.", what=what,
                         then=then) + "\n"
            else:
                subject = _("%(company)s: %(who)s at %(share)s of its daily limit (%(day)s)", company=plan.company,
                            who=who, share=f"{share:.0%}", day=day)
                text = _("%(what)s. At 100 %% it stops until tomorrow.", what=what) + "\n"
        await limit_alert(self.db, full, level, what, subject, text, plan.limits.alert_to, now)
