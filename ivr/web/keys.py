"""Typed keys of the aiohttp application, one per domain, shared by every handler module.

`install` sets them all from the composition root (ivr/service.py), and makes the few objects only
the web asks (the missed-call desk, reports, the home page's numbers, plan changes, transfers asked
from the console). A handler takes the one domain object it needs (`request.app[CAMPAIGNS]`);
`SERVICE`, the whole service, is for what spans the service itself (health, plan reload, metrics)."""
from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from ivr.asterisk.render import pbx_instance
from ivr.calls.cards import Cards
from ivr.calls.recording import Recorder
from ivr.calls.staff_recording import StaffRecording
from ivr.campaigns.desk import CampaignDesk
from ivr.clock import Clock
from ivr.config import Settings
from ivr.flows.transfer_asks import TransferAsks
from ivr.missed.desk import MissedDesk
from ivr.plan.live import PlanHolder
from ivr.plan.model import Plan
from ivr.plan_changes import PlanChanges
from ivr.queues.manager import QueueManager
from ivr.reports.dashboard import Dashboard
from ivr.reports.service import Reports
from ivr.reports.spend import SpendStore
from ivr.routing.report import TrunkReports, cdr_path
from ivr.routing.router import Router
from ivr.routing.trunk_status import TrunkWatch
from ivr.service import IvrService
from ivr.staff.dnd import DoNotDisturb
from ivr.staff.rosters import Rosters
from ivr.store.calls import CallStore
from ivr.users import UserStore
from ivr.voicemail.boxes import VoicemailBoxes

SERVICE = web.AppKey("service", IvrService)
SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
CALLS = web.AppKey("calls", CallStore)
PLANS = web.AppKey("plans", PlanHolder)
MISSED = web.AppKey("missed", MissedDesk)
QUEUES = web.AppKey("queues", QueueManager)
CAMPAIGNS = web.AppKey("campaigns", CampaignDesk)
ROUTER = web.AppKey("router", Router)
TRUNKS = web.AppKey("trunks", TrunkWatch)
TRUNK_REPORTS = web.AppKey("trunk_reports", TrunkReports)
STAFF = web.AppKey("staff", DoNotDisturb)
CARDS = web.AppKey("cards", Cards)
RECORDER = web.AppKey("recorder", Recorder)
STAFF_RECORDING = web.AppKey("staff_recording", StaffRecording)
ROSTERS = web.AppKey("rosters", Rosters)
VOICEMAIL = web.AppKey("voicemail", VoicemailBoxes)
DASHBOARD = web.AppKey("dashboard", Dashboard)
REPORTS = web.AppKey("reports", Reports)
SPEND = web.AppKey("spend", SpendStore)
PLAN_CHANGES = web.AppKey("plan_changes", PlanChanges)
TRANSFERS = web.AppKey("transfers", TransferAsks)


def live_plan(service: IvrService) -> Callable[[], Plan | None]:
    """The plan new calls start on now; None before one is loaded."""
    return lambda: service.plans.current.plan if service.plans.current else None


def install(app: web.Application, service: IvrService) -> None:
    app[SERVICE] = service
    app[SETTINGS], app[CLOCK] = service.settings, service.clock
    app[CALLS], app[PLANS], app[TRUNKS] = service.calls, service.plans, service.trunks
    app[CAMPAIGNS] = service.campaign_desk
    parts = service.services
    app[MISSED] = MissedDesk(parts.missed, live_plan(service))
    app[QUEUES], app[ROUTER], app[STAFF], app[CARDS] = parts.queues, parts.router, parts.dnd, parts.cards
    app[RECORDER], app[ROSTERS], app[VOICEMAIL] = parts.recorder, parts.rosters, parts.voicemail
    app[STAFF_RECORDING] = StaffRecording(parts.recorder, live_plan(service), service.clock.now)
    app[TRUNK_REPORTS] = TrunkReports(cdr_path(pbx_instance(service.settings)), parts.router)
    app[SPEND] = SpendStore(service.db)
    app[REPORTS] = Reports(service.calls, parts.missed.store, parts.queues.store, service.campaign_desk.store,
                           app[SPEND], UserStore(service.db), app[TRUNK_REPORTS], live_plan(service))
    app[DASHBOARD] = Dashboard(service.calls, parts.missed.store, parts.queues, service.ari.device_state,
                               live_plan(service), service.clock.now)
    app[PLAN_CHANGES] = PlanChanges(service.plans, service.reload_plan, service.settings, parts.rosters)
    app[TRANSFERS] = TransferAsks(parts.conversations, live_plan(service))
