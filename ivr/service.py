"""The running service: ARI connection, call supervisor, live plan, storage and web API, wired once."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr.ari.bus import EventBus, Subscription
from ivr.ari.client import AriClient, AriError
from ivr.ari.events import WANTED, StasisStart
from ivr.asterisk.render import pbx_instance, render_pbx
from ivr.calls.handover import HANDOVER_ARGS
from ivr.calls.legs import hangup_quietly, quietly
from ivr.calls.journal import CallJournal
from ivr.calls.recording import DailyPurge, Recorder
from ivr.calls.session import CallEnded, CallSession, Resync
from ivr.calls.talking import Conversations
from ivr.calls.supervisor import CallSupervisor
from ivr.campaigns.callback import CampaignCallback
from ivr.campaigns.desk import CampaignDesk
from ivr.campaigns.dialer import CampaignDialer
from ivr.campaigns.store import CampaignStore
from ivr.clock import Clock
from ivr.cluster.lost_calls import LostCalls
from ivr.config import Settings
from ivr.errors import InvalidInput, IvrError
from ivr.flows import RUNNABLE
from ivr.flows.context import Services
from ivr.flows.hunt import keep_talking
from ivr.flows.hunt_memory import SharedHuntMemories
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
from ivr.routing.shared_channels import SharedChannelCounter
from ivr.security import sip_guard
from ivr.routing.trunk_status import TrunkWatch
from ivr.sounds.catalog import PromptCatalog
from ivr.store.calls import CallStore
from ivr.store.db import Database
from ivr.store.shared_pg import SharedDatabase, uses_postgresql
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
        self._connected_before = False
        self.bus = EventBus()
        self.services.conversations = Conversations(self.bus)
        self.supervisor = CallSupervisor(self.bus, {})
        self.ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password, settings.ari_app,
                             on_event=self.supervisor.on_event, on_connect=self._on_connect,
                             wanted=WANTED)
        cdr = cdr_path(pbx_instance(settings))
        guard = TollGuard(partial(read_day_use, cdr), db, self.clock.now)
        # Live state of queues, hunts and trunks: this process's own, or shared by a cluster's instances.
        self.shared_database = SharedDatabase(settings.database_url) \
            if uses_postgresql(settings.shared_state, settings.database_url) else None
        channels = None
        if self.shared_database is not None:
            channels = SharedChannelCounter(self.shared_database, settings.node_name)
            self.services.hunt_memory = SharedHuntMemories(self.shared_database)
        self.services.router = Router.for_service(settings, self.plans, self.ari, guard.usage, channels)
        self.services.queues = queues_setup.for_service(self)
        self.services.dnd = staff_setup.for_service(self)
        self.services.missed = MissedService(settings, db, self.clock.now,
                                             lambda: self.plans.current.plan if self.plans.current else None)
        self.services.missed.use_telephony(self.ari, self.bus, self.services.router.endpoint_for,
                                           self.services.router.caller_id_on, self.keep_talking)
        self.auto_callback = AutoCallback(self.services.missed, lambda: self.plans.current.plan
                                          if self.plans.current else None, self.services.queues)
        missed = self.services.missed
        alerts = Alerts(db, lambda: missed.config, self.clock.now, missed.worker.kick)
        self.services.rosters = Rosters(db, self.clock.now, self._plan)
        self.services.voicemail = VoicemailBoxes(db, self.ari, pbx_instance(settings).spool / "recording",
                                                 self.clock.now, self._plan, missed.worker.kick)
        self.trunks = TrunkWatch(pbx_instance(settings), self._plan, self.clock.now, settings.var / "trunks.json",
                                 alerts, settings.trunk_check_seconds)
        self.campaigns = CampaignDialer(CampaignStore(db), settings=settings, ari=self.ari, bus=self.bus,
                                        plans=self.plans, catalog=self.catalog, now=self.clock.now,
                                        supervisor=self.supervisor, services=self.services)
        self._jobs_task: asyncio.Task | None = None
        # In a cluster: the other nodes this process serves too, and those of them it is handing
        # back to their own instance (ivr/cluster/takeover.py).
        self.also_serving: Callable[[], list[str]] = list
        self.handing_back: Callable[[], list[str]] = list
        # A node of a cluster: its calls are recorded as lost when its Asterisk stays away.
        self.lost_calls = LostCalls(settings.node_name, self.ari, self.supervisor, self.bus, self.calls,
                                    self.services.missed.review, self.clock.now, settings.node_lost_seconds) \
            if settings.node_name else None
        self.services.campaign_callback = CampaignCallback(self.campaigns)
        self.campaign_desk = CampaignDesk(self.campaigns, self.plans, self.services.router, settings,
                                          self.clock.now)
        # Every Stasis(ivr,KIND,...) the service answers, by KIND, in one table.
        self.supervisor.handlers.update({
            "inbound": self._inbound, "callback": self._callback,
            "feature": queues_setup.feature_handler(self, self.services.queues),
            "staff": staff_setup.feature_handler(self, self.services.dnd),
            HANDOVER_ARGS: self.services.handovers.handler(self.ari),
            "voicemail": voicemail_phone.leave_handler(self, self.services.voicemail),
            "mailbox": voicemail_phone.mailbox_handler(self, self.services.voicemail),
            **self.campaigns.handlers(),
        })
        asterisk_logs = pbx_instance(settings).root / "log" if settings.asterisk_mode == "bundled" \
            else Path("/var/log/asterisk")
        self.sip_guard = sip_guard.for_settings(settings, asterisk_logs, self._reload_pjsip)
        self.services.recorder = Recorder(pbx_instance(settings), settings.recordings,
                                          settings.recording_min_free_mb * 2**20, alerts, self.clock.now)
        self.recording_purge = DailyPurge(settings.recordings, self._retention_days, self._today)

    async def start(self) -> None:
        await self.plans.load()
        await self.services.router.start()
        await self.services.hunt_memory.start()
        await self.services.queues.start()
        await self.services.dnd.load()
        await self.services.missed.start()

    def start_jobs(self) -> None:
        """The jobs that run once per site, whatever node a call is on: campaign dialling, the
        automatic call-back, notification delivery. In a cluster only the instance holding their
        lease runs them (ari_app.py)."""
        self.auto_callback.start()
        self.services.missed.start_jobs()
        if self._jobs_task is None:
            self._jobs_task = asyncio.create_task(self.campaigns.run(), name="campaign-dialer")

    async def stop_jobs(self) -> None:
        if self._jobs_task is not None:
            self._jobs_task.cancel()
            await asyncio.gather(self._jobs_task, return_exceptions=True)
            self._jobs_task = None
        await self.auto_callback.stop()
        await self.services.missed.stop_jobs()

    def _plan(self):
        return self.plans.current.plan if self.plans.current else None

    def _retention_days(self) -> int | None:
        plan = self._plan()
        return plan.recording.retention_days if plan is not None else None

    def _today(self) -> date:
        plan = self._plan()
        now = self.clock.now()
        return (now.astimezone(ZoneInfo(plan.timezone)) if plan is not None and plan.timezone else now).date()

    async def run(self) -> None:
        """The service's loops, in one task group: cancelling `run` cancels and awaits them all. The
        once-per-site jobs are not here: `start_jobs`/`stop_jobs` (the lease holder's, in a cluster)."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.ari.run_forever(), name="ari")
            group.create_task(self.sip_guard.run(), name="sip-guard")
            group.create_task(self.trunks.run(), name="trunk-watch")
            group.create_task(self.recording_purge.run(), name="recording-purge")
            if self.lost_calls is not None:
                group.create_task(self.lost_calls.run(), name="lost-calls")

    # ----- calls -----

    def calls_in_progress(self) -> int:
        """Calls this service runs now, and campaign attempts it watches (ringing ones too)."""
        return len(self.supervisor.tasks) + len(self.campaigns.watchers)

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

    async def keep_talking(self, sub: Subscription, customer_leg: str, customer: str, bridge_id: str,
                           staff: str, staff_channel: str, language: str = "") -> CallJournal:
        """A call-back's bridged conversation under the hunts' transfer rules (ivr.flows.talk): the
        staff member may pass the customer on. Returns its steps once it is over."""
        plan = self._plan()
        assert plan is not None, "call-backs run on a loaded plan"
        session = CallSession(self.ari, self.bus, sub, customer_leg, language or plan.language,
                              self.catalog.resolve, self.clock.now)
        ctx = new_context(session, plan, self.clock.now, "", customer, self.services)
        # The staff leg may leave with a transfer: this task lives as long as the customer does.
        self.supervisor.follow(staff_channel, customer_leg)
        # A phone rung for a transfer shows the customer (a leg dialled for it copies this), not the
        # company number the call-back presented to the customer.
        await quietly(self.ari.set_var(customer_leg, "CALLERID(num)", customer))
        try:
            await keep_talking(ctx, bridge_id, staff, staff_channel)
        except CallEnded:
            ctx.journal.step("customer_hung_up")
        return ctx.journal

    async def _callback(self, event: StasisStart, sub: Subscription) -> None:
        await self.services.missed.run_callback(event, sub)

    async def _on_connect(self) -> None:
        """After (re)connecting: live calls re-check what they wait for; channels left in our
        Stasis app by an earlier run of the service are picked up, never left in silence."""
        if self._reload_pending:
            await self._reload_asterisk()
        first_connect, self._connected_before = not self._connected_before, True
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
        # Listed before any call is picked up: those make bridges of their own at once.
        stale = await self._stale_bridges({c.id for c in channels if c.app_data.startswith(app)}) \
            if first_connect else []
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
        for bridge_id in stale:
            log.warning("destroying a bridge left by an earlier run bridge=%s", bridge_id)
            await quietly(self.ari.destroy_bridge(bridge_id))
        await self.campaigns.reconcile()

    async def _stale_bridges(self, ours: set[str]) -> list[str]:
        """At this process's first connection: the bridges an earlier run left, holding nothing or
        only channels of our app (calls picked up again start afresh and bridge anew, orphaned
        legs are hung up); they would stay in Asterisk for ever."""
        try:
            bridges = await self.ari.stasis_bridges()
        except AriError:
            return []
        return [bridge_id for bridge_id, members in bridges.items() if set(members) <= ours]

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
        """After `run` is cancelled: stop what `start` and `start_jobs` started, each cancelling and
        awaiting its tasks."""
        await self.stop_jobs()
        await self.campaigns.stop()
        await self.supervisor.shutdown()
        await self.services.queues.stop()
        await self.services.router.stop()
        if self.shared_database is not None:
            await self.shared_database.close()
        await self.services.missed.stop()
