"""The home page's numbers: today so far (calls, answered, missed, customers not yet reached, median
time to call back), the queues now (waiting, longest wait) and the staff phones now (free, on a call,
ringing, paused, offline, from Asterisk's device states)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from ivr.ari.client import AriError
from ivr.missed.report import stats
from ivr.missed.store import MissedStore
from ivr.plan.model import Plan
from ivr.plan.reasons import MISSED_OUTCOMES
from ivr.queues.manager import QueueManager
from ivr.store.calls import CallStore

ANSWERED = frozenset({"answered", "queue_callback"})
# Asterisk device states in one word for people.
PHONE_STATES = {"NOT_INUSE": "free", "INUSE": "talking", "BUSY": "talking", "ONHOLD": "talking",
                "RINGING": "ringing", "RINGINUSE": "ringing"}
STATES = ("free", "talking", "ringing", "paused", "offline")


@dataclass(frozen=True)
class Today:
    calls: int
    answered: int
    missed: int
    not_reached: int                  # customers whose missed calls nobody has closed yet
    median_callback: float | None     # seconds from the first missed call to the call-back, today


@dataclass(frozen=True)
class Numbers:
    today: Today
    queues: list[dict[str, Any]]
    staff: list[dict[str, str]]
    staff_counts: dict[str, int]      # phones in each of STATES
    now: datetime


def start_of_day(now: datetime, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


class Dashboard:
    def __init__(self, calls: CallStore, missed: MissedStore, queues: QueueManager,
                 device_state: Callable[[str], Awaitable[str]], plan: Callable[[], Plan | None],
                 now: Callable[[], datetime]):
        self.calls, self.missed, self.queues, self.device_state = calls, missed, queues, device_state
        self.plan, self.now = plan, now

    async def numbers(self) -> Numbers:
        plan = self.plan()
        tz = ZoneInfo(plan.timezone if plan else "UTC")
        people = await self.staff_now(plan)
        return Numbers(today=await self.today(tz), queues=await self.queues_now(tz), staff=people,
                       staff_counts={s: sum(1 for p in people if p["state"] == s) for s in STATES}, now=self.now())

    async def today(self, tz: ZoneInfo) -> Today:
        now = self.now()
        since = start_of_day(now, tz)
        calls = [c for c in await self.calls.list(limit=100_000, since=since, steps=False) if c.direction == "inbound"]
        pending = await self.missed.list(status="pending", include_short=False, limit=10_000)
        first_today = [i for i in await self.missed.between(since, now) if not i.short]
        return Today(calls=len(calls), answered=sum(1 for c in calls if c.outcome in ANSWERED),
                     missed=sum(1 for c in calls if c.outcome in MISSED_OUTCOMES), not_reached=len(pending),
                     median_callback=stats("today", first_today).median_seconds)

    async def queues_now(self, tz: ZoneInfo) -> list[dict[str, Any]]:
        snapshot = await self.queues.snapshot(start_of_day(self.now(), tz))
        return [{"id": q["id"], "waiting": len(q["waiting"]),
                 "longest": max((w["waited_seconds"] for w in q["waiting"]), default=0.0),
                 "agents": q["agents"], "stats": q["stats"]} for q in snapshot["queues"]]

    async def staff_now(self, plan: Plan | None) -> list[dict[str, str]]:
        if plan is None:
            return []
        agents, people = self.queues.agents, []
        for ext, staff in plan.staff.items():
            try:
                state = PHONE_STATES.get(await self.device_state(f"PJSIP/{ext}"), "offline")
            except AriError:
                state = "offline"
            if state == "free" and ext in agents and agents[ext].paused:
                state = "paused"
            people.append({"extension": ext, "name": staff.name, "state": state})
        return people
