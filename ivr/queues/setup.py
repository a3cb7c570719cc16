"""Wiring the queues into the service: the manager, its call-back dialer, and the agents' feature
codes (a staff phone dials *45 / *46 / *47; the dialplan sends it to Stasis(ivr,feature,ACTION,EXT))."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ivr.ari.bus import Subscription
from ivr.ari.client import AriError
from ivr.ari.events import StasisStart
from ivr.calls.feature import say_and_hang_up
from ivr.errors import IvrError
from ivr.plan.model import Plan
from ivr.queues.callback import CallbackDialer, trunk_endpoint
from ivr.queues.manager import QueueManager
from ivr.queues.shared import SharedQueueManager
from ivr.store.queues import QueueStore

if TYPE_CHECKING:
    from ivr.service import IvrService

log = logging.getLogger(__name__)

# What the phone hears after a feature code: the new state of the agent.
FEATURE_PROMPTS = {"login": "agent-logged-in", "logout": "agent-logged-out", "pause": "agent-paused",
                   "unpause": "agent-unpaused"}


def for_service(service: IvrService) -> QueueManager:
    """The service's QueueManager (its Stasis handler: `feature_handler`)."""

    def live_plan() -> Plan | None:
        return service.plans.current.plan if service.plans.current else None

    def endpoint(number: str, plan: Plan, tried: tuple[str, ...] = ()) -> str:
        # The outbound routing's trunk for the customer's carrier (not one of `tried`: failover);
        # the default trunk without it.
        router = service.services.router
        return router.endpoint_for(number, tried) if router is not None else trunk_endpoint(number, plan)

    def caller_id_on(trunk: str, caller_id: str) -> str:
        router = service.services.router
        return router.caller_id_on(trunk, caller_id) if router is not None else caller_id

    store = QueueStore(service.db)
    if service.shared_database is not None:
        manager: QueueManager = SharedQueueManager(service.bus, store, service.clock.now, live_plan,
                                                   database=service.shared_database,
                                                   node=service.settings.node_name)
    else:
        manager = QueueManager(service.bus, store, service.clock.now, live_plan)
    manager.run_callback = CallbackDialer(service.ari, service.bus, manager, service.calls,
                                          service.catalog.resolve, service.clock.now, endpoint, caller_id_on,
                                          service.keep_talking, service.settings.node_name).run
    return manager


def feature_handler(service: IvrService, manager: QueueManager) -> Callable[[StasisStart, Subscription], Awaitable[None]]:
    """The Stasis handler of the agents' feature codes (Stasis(ivr,feature,...))."""

    async def feature(event: StasisStart, sub: Subscription) -> None:
        await feature_code(service, manager, event, sub)

    return feature


async def feature_code(service: IvrService, manager: QueueManager, event: StasisStart, sub: Subscription) -> None:
    """Stasis(ivr,feature,login|logout|pause|toggle,EXT): change the agent, say the new state, hang up."""
    channel = event.channel.id
    action = event.args[1] if len(event.args) > 1 else ""
    ext = event.args[2] if len(event.args) > 2 else event.channel.caller_number
    if action == "toggle":
        action = "unpause" if manager.agent(ext).paused else "pause"
    try:
        await service.ari.answer(channel)
    except AriError:
        return                                # the phone hung up at once
    try:
        await manager.agent_action(ext, action, reason="phone" if action == "pause" else "")
        prompt = FEATURE_PROMPTS[action]
    except IvrError as e:
        log.warning("feature code refused ext=%s action=%s error=%s", ext, action, e.message)
        prompt = "beeperr"
    await say_and_hang_up(service, channel, sub, prompt)
