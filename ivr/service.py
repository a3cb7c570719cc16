"""The running service: ARI connection, call supervisor, live plan, storage and web API, wired once."""
from __future__ import annotations

import asyncio
import logging
from functools import partial
from pathlib import Path

from ivr.ari.bus import EventBus, Subscription
from ivr.ari.client import AriClient, AriError
from ivr.ari.events import StasisStart
from ivr.asterisk.render import pbx_instance, render_pbx
from ivr.calls.legs import hangup_quietly
from ivr.calls.session import CallSession, Resync
from ivr.calls.supervisor import CallSupervisor
from ivr.campaigns.callback import CampaignCallback
from ivr.campaigns.dialer import CampaignDialer
from ivr.campaigns.store import CampaignStore
from ivr.clock import Clock
from ivr.config import Settings
from ivr.errors import InvalidInput, IvrError
from ivr.flows import RUNNABLE
from ivr.flows.context import Services
from ivr.flows.inbound import new_context, run_inbound
from ivr.missed.auto_callback import AutoCallback
from ivr.missed.service import MissedService
from ivr.notify.alerts import Alerts
from ivr.plan.live import PlanHolder
from ivr.queues import setup as queues_setup
from ivr.staff import setup as staff_setup
from ivr.staff.rosters import Rosters
from ivr.routing.daily import TollGuard
from ivr.routing.numbers import normalize
from ivr.routing.report import cdr_path, read_day_use
from ivr.routing.router import Router
from ivr.security import sip_guard
from ivr.routing.trunk_status import TrunkWatch
from ivr.sounds.catalog import PromptCatalog
from ivr.store.calls import CallStore
from ivr.store.db import Database
from ivr.store.plans import PlanStore
from ivr.voicemail import phone as voicemail_phone
from ivr.voicemail.boxes import VoicemailBoxes

log = logging.getLogger(__name__)


class IvrService:
    def __init__(self, settings: Settings, db: Database, clock: Clock | None = None):
        self.settings, self.db = settings, db
        self.clock = clock or Clock(settings.fixed_now())
        self.catalog = PromptCatalog(settings)
        self.calls = CallStore(db)
        self.plans = PlanHolder(settings, PlanStore(db), self.catalog, RUNNABLE)
        self.services = Services()
        self._reload_pending = False
        self.bus = EventBus()
        self.supervisor = CallSupervisor(self.bus, {})
        self.ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password, settings.ari_app,
                             on_event=self.supervisor.on_event, on_connect=self._on_connect)
        cdr = cdr_path(pbx_instance(settings))
        guard = TollGuard(partial(read_day_use, cdr), db, self.clock.now)
        self.services.router = Router.for_service(settings, self.plans, self.ari, guard.usage)
        self.services.queues = queues_setup.for_service(self)
        self.services.dnd = staff_setup.for_service(self)
        self.services.missed = MissedService(settings, db, self.clock.now,
                                             lambda: self.plans.current.plan if self.plans.current else None)
        self.services.missed.use_telephony(self.ari, self.bus, self.services.router.endpoint_for)
        self.auto_callback = AutoCallback(self.services.missed, lambda: self.plans.current.plan
                                          if self.plans.current else None, self.services.queues)
        missed = self.services.missed
        self.services.rosters = Rosters(db, self.clock.now, self._plan)
        self.services.voicemail = VoicemailBoxes(db, self.ari, pbx_instance(settings).spool / "recording",
                                                 self.clock.now, self._plan, missed.worker.kick)
        self.trunks = TrunkWatch(pbx_instance(settings), self._plan, self.clock.now, settings.var / "trunks.json",
                                 Alerts(db, lambda: missed.config, self.clock.now, missed.worker.kick),
                                 settings.trunk_check_seconds)
        self._trunk_task: asyncio.Task | None = None
        self.campaigns = CampaignDialer(self, CampaignStore(db))
        self.services.campaign_callback = CampaignCallback(self.campaigns)
        # Every Stasis(ivr,KIND,...) the service answers, by KIND, in one table.
        self.supervisor.handlers.update({
            "inbound": self._inbound, "callback": self._callback,
            "feature": queues_setup.feature_handler(self, self.services.queues),
            "staff": staff_setup.feature_handler(self, self.services.dnd),
            "voicemail": voicemail_phone.leave_handler(self, self.services.voicemail),
            "mailbox": voicemail_phone.mailbox_handler(self, self.services.voicemail),
            **self.campaigns.handlers(),
        })
        asterisk_logs = pbx_instance(settings).root / "log" if settings.asterisk_mode == "bundled" \
            else Path("/var/log/asterisk")
        self.sip_guard = sip_guard.for_settings(settings, asterisk_logs, self._reload_pjsip)

    async def start(self) -> None:
        await self.plans.load()
        await self.services.queues.start()
        await self.services.dnd.load()
        await self.services.missed.start()
        self.auto_callback.start()
        self._trunk_task = asyncio.create_task(self.trunks.run(), name="trunk-watch")

    def _plan(self):
        return self.plans.current.plan if self.plans.current else None

    async def run(self) -> None:
        await asyncio.gather(self.ari.run_forever(), self.campaigns.run(), self.sip_guard.run())

    # ----- calls -----

    async def _inbound(self, event: StasisStart, sub: Subscription) -> None:
        live = self.plans.current
        assert live is not None, "the plan is loaded before the ARI connection starts"
        plan = live.plan
        session = CallSession(self.ari, self.bus, sub, event.channel.id, plan.language, self.catalog.resolve,
                              self.clock.now)
        company_number = event.args[1] if len(event.args) > 1 else event.channel.exten
        try:
            caller = normalize(event.channel.caller_number, plan.country)
        except InvalidInput:
            caller = event.channel.caller_number       # withheld or odd: keep what the network sent
        ctx = new_context(session, plan, self.clock.now, company_number, caller, self.services,
                          event.channel.caller_name)
        await run_inbound(ctx, self.calls, live.version)

    async def _callback(self, event: StasisStart, sub: Subscription) -> None:
        await self.services.missed.run_callback(event, sub)

    async def _on_connect(self) -> None:
        """After (re)connecting: live calls re-check what they wait for; channels left in our
        Stasis app by an earlier run of the service are picked up, never left in silence."""
        if self._reload_pending:
            await self._reload_asterisk()
        for sub_channel in list(self.supervisor.tasks):
            self.bus.publish_to(sub_channel, Resync("Resync"))
        # Asterisk may have restarted: it forgot the lamps (message waiting, do-not-disturb).
        await self.services.voicemail.publish_all()
        await self.services.dnd.show_all()
        try:
            channels = await self.ari.list_channels()
        except AriError:
            return
        app = self.settings.ari_app + ","
        for channel in channels:
            if not channel.app_data.startswith(app) or self.supervisor.known(channel.id):
                continue
            args = tuple(channel.app_data.split(",")[1:])
            if args[:1] in (("inbound",), ("campaign",)):
                log.warning("picking up a call left by an earlier run call=%s", channel.id)
                self.supervisor.start(StasisStart("StasisStart", channel, args))
            else:
                log.warning("hanging up an orphaned leg call=%s", channel.id)
                await hangup_quietly(self.ari, channel.id)
        await self.campaigns.reconcile()

    # ----- plan -----

    async def reload_plan(self) -> bool:
        """Make the active plan version live for new calls, and Asterisk's phones and trunks with it."""
        before = self.plans.current
        if not await self.plans.reload():
            return False
        if before is None or self.plans.current.plan.checksum != before.plan.checksum:
            await self.apply_asterisk_config()
        if self.services.missed is not None:
            try:
                self.services.missed.reload_config()      # notifications.yaml lives beside the plan
            except IvrError as e:
                log.error("notifications.yaml refused, keeping the old settings: %s", e.message)
        return True

    async def apply_asterisk_config(self) -> None:
        """Render Asterisk's files from the live plan; reload what changed now, or at the next
        connect when Asterisk is not reachable yet (the service starts before ARI answers)."""
        changed = await asyncio.to_thread(render_pbx, self.settings, self.plans.current.plan)
        self._reload_pending |= bool(changed)
        if self._reload_pending and self.ari.connected:
            await self._reload_asterisk()

    async def _reload_pjsip(self) -> None:
        """The SIP block list changed; without ARI now, the next connect reloads everything."""
        try:
            await self.ari.reload_module("res_pjsip.so")
        except IvrError as e:
            self._reload_pending = True
            log.warning("pjsip reload postponed until asterisk answers: %s", e.message)

    async def _reload_asterisk(self) -> None:
        self._reload_pending = False
        for module in ("res_pjsip.so", "pbx_config.so", "cdr_csv.so"):
            try:
                await self.ari.reload_module(module)
            except AriError as e:
                log.error("asterisk reload failed module=%s error=%s", module, e.message)
        log.info("asterisk configuration reloaded")

    async def shutdown(self) -> None:
        if self._trunk_task is not None:
            self._trunk_task.cancel()
        await self.auto_callback.stop()
        await self.campaigns.stop()
        await self.supervisor.shutdown()
        await self.services.queues.stop()
        await self.services.missed.stop()
