"""The plan version that new calls start on. Calls in progress keep the Plan object they took."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from ivr.config import Settings
from ivr.plan.loader import PlanError, load_plan, load_plan_text
from ivr.plan.model import Plan
from ivr.sounds.catalog import PromptCatalog
from ivr.store.plans import PlanStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LivePlan:
    plan: Plan
    version: int | None


class PlanHolder:
    def __init__(self, settings: Settings, store: PlanStore, catalog: PromptCatalog,
                 runnable: frozenset[str] | None = None):
        self.settings, self.store, self.catalog = settings, store, catalog
        self.runnable = runnable       # node kinds the service runs (ivr.flows.RUNNABLE); None: any
        self.current: LivePlan | None = None

    def secrets_path(self) -> Path:
        return self.settings.path(self.settings.secrets_file)

    def validate_file(self, path: Path) -> Plan:
        return load_plan(path, secrets_path=self.secrets_path(), prompt_exists=self.catalog.exists,
                         runnable=self.runnable)

    def validate_text(self, text: str, source: str) -> Plan:
        """The plan in `text` as this service would run it (its secrets, prompts and node kinds)."""
        return load_plan_text(text, source, secrets_path=self.secrets_path(), prompt_exists=self.catalog.exists,
                              runnable=self.runnable)

    async def load(self) -> LivePlan:
        """The active version from the database; on a fresh database the plan file becomes version 1."""
        active = await self.store.active()
        if active is None:
            path = self.settings.path(self.settings.plan_file)
            plan = await asyncio.to_thread(self.validate_file, path)     # a parse is ~0.1 s of CPU
            version = await self.store.save(path.read_text(encoding="utf-8"), str(path), plan.checksum,
                                            "first start")
            self.current = LivePlan(plan, version)
        else:
            plan = await asyncio.to_thread(self.validate_text, active.text, active.source_file)
            self.current = LivePlan(plan, active.version)
        log.info("plan live version=%s source=%s", self.current.version, self.current.plan.source)
        return self.current

    async def reload(self) -> bool:
        """Take the active version again (after `ivr plan apply`); a broken one keeps the old."""
        try:
            await self.load()
            return True
        except PlanError as e:
            log.error("plan reload refused, keeping version %s:\n%s",
                      self.current.version if self.current else None, e.message)
            return False
