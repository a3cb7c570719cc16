"""What the console's plan page asks: a plan text checked, tried (the path a call would take),
applied as a new version live for new calls, or the previous version rolled back; versions listed
and compared. `reload` is the service's: it makes the active version live (and Asterisk with it)."""
from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ivr.config import Settings
from ivr.errors import IvrError
from ivr.plan.errors import PlanError
from ivr.plan.live import PlanHolder
from ivr.plan.model import Plan
from ivr.plan.schedule import parse_local_datetime
from ivr.plan.trace import trace
from ivr.routing.numbers import normalize
from ivr.sounds.generate import prompt_texts
from ivr.staff.rosters import Rosters
from ivr.store.plans import PlanVersion

PASTED = "plan.yaml"                  # how problems of a pasted plan name their file


@dataclass(frozen=True)
class Applied:
    version: int                      # the version stored (or rolled back to)
    live: bool                        # it is live for new calls; else the running one stays
    running: int | None = None        # the version that stayed live when `live` is false


class PlanChanges:
    def __init__(self, plans: PlanHolder, reload: Callable[[], Awaitable[bool]], settings: Settings,
                 rosters: Rosters):
        self.plans, self.reload, self.settings, self.rosters = plans, reload, settings, rosters

    def check(self, text: str) -> tuple[Plan | None, list]:
        """(plan, []) when the text is a usable plan, else (None, its problems)."""
        try:
            return self.plans.validate_text(text, PASTED), []
        except PlanError as e:
            return None, e.problems

    async def versions(self) -> list[PlanVersion]:
        return await self.plans.store.list()

    async def version(self, number: int) -> PlanVersion:
        return await self.plans.store.get(number)

    async def diff(self, a: int, b: int) -> list[str]:
        """Version a against version b, unified."""
        old, new = await self.version(a), await self.version(b)
        return list(difflib.unified_diff(old.text.splitlines(), new.text.splitlines(), f"v{a}", f"v{b}", lineterm=""))

    async def apply(self, text: str, plan: Plan, by: str) -> Applied:
        """A checked plan stored as the active version and made live."""
        version = await self.plans.store.save(text, "console", plan.checksum, by)
        return Applied(version, await self.reload())

    async def roll_back(self) -> Applied:
        """The previous version active and live again; one that no longer passes the checks is not
        kept active even in the database (the next start of the service would refuse it)."""
        running = self.plans.current
        version = await self.plans.store.rollback()
        if await self.reload():
            return Applied(version.version, True)
        if running is not None:
            await self.plans.store.activate(running.version)
        return Applied(version.version, False, running.version if running else None)

    async def try_call(self, plan: Plan, at: str, to: str, digits: str, caller: str) -> list[str]:
        """The path of a call through the plan (what `ivr plan try` prints), or what is wrong with
        the moment or the number asked."""
        try:
            when = parse_local_datetime(at, ZoneInfo(plan.timezone))
            number = normalize(to, plan.country)
        except IvrError as e:
            return [e.message]
        texts = prompt_texts(self.settings)
        try:
            duty = await self.rosters.duty_map(plan, when)
        except IvrError:
            duty = {}                      # the database is away: the plan's own rosters
        return [str(s) for s in trace(plan, number, when, digits, caller,
                                      lambda lang, name: texts.get(f"{lang}/{name}"), duty)]
