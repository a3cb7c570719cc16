"""Typed keys of the aiohttp application, one per domain, shared by every handler module.

`install` sets them all from the composition root (ivr/service.py). A handler takes the one domain
object it needs (`request.app[CAMPAIGNS]`); `SERVICE`, the whole service, is for what spans the
service itself (health, plan reload, metrics, wiring in create_app)."""
from __future__ import annotations

from aiohttp import web

from ivr.calls.cards import Cards
from ivr.calls.recording import Recorder
from ivr.campaigns.desk import CampaignDesk
from ivr.clock import Clock
from ivr.config import Settings
from ivr.missed.service import MissedService
from ivr.plan.live import PlanHolder
from ivr.queues.manager import QueueManager
from ivr.routing.router import Router
from ivr.routing.trunk_status import TrunkWatch
from ivr.service import IvrService
from ivr.staff.dnd import DoNotDisturb
from ivr.store.calls import CallStore
from ivr.store.db import Database

SERVICE = web.AppKey("service", IvrService)
SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
DB = web.AppKey("db", Database)                   # reports that count across tables
CALLS = web.AppKey("calls", CallStore)
PLANS = web.AppKey("plans", PlanHolder)
MISSED = web.AppKey("missed", MissedService)
QUEUES = web.AppKey("queues", QueueManager)
CAMPAIGNS = web.AppKey("campaigns", CampaignDesk)
ROUTER = web.AppKey("router", Router)
TRUNKS = web.AppKey("trunks", TrunkWatch)
STAFF = web.AppKey("staff", DoNotDisturb)
CARDS = web.AppKey("cards", Cards)
RECORDER = web.AppKey("recorder", Recorder)


def install(app: web.Application, service: IvrService) -> None:
    app[SERVICE] = service
    app[SETTINGS], app[CLOCK], app[DB] = service.settings, service.clock, service.db
    app[CALLS], app[PLANS], app[TRUNKS] = service.calls, service.plans, service.trunks
    app[CAMPAIGNS] = service.campaign_desk
    parts = service.services
    app[MISSED], app[QUEUES], app[ROUTER], app[STAFF], app[CARDS] = (parts.missed, parts.queues, parts.router,
                                                                     parts.dnd, parts.cards)
    app[RECORDER] = parts.recorder
