"""Prometheus metrics at GET /metrics (prometheus_client's text format). Like every route it sits
behind the API's bearer token; docs/operations.md names the alerts worth setting on them.

Values are read at scrape time from the service (calls in progress, queues, trunks, ARI) and the
stores (calls by outcome, open missed items); a fresh registry per scrape keeps no global state.
"""
from __future__ import annotations

import asyncio
import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from ivr.web.keys import SERVICE

LAG = web.AppKey("metrics_loop_lag", list)
LAG_PERIOD = 0.5


async def _watch_lag(app: web.Application):
    """How late the event loop wakes a sleeper: a busy or blocked loop delays every call."""
    async def watch() -> None:
        while True:
            start = time.monotonic()
            await asyncio.sleep(LAG_PERIOD)
            app[LAG][0] = max(0.0, time.monotonic() - start - LAG_PERIOD)
    task = asyncio.create_task(watch(), name="loop-lag")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def metrics(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    outcomes = await service.calls.count_by_outcome()
    missed_open = await service.services.missed.store.count_open()
    registry = CollectorRegistry()

    def gauge(name: str, text: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, text, labels, registry=registry)
    gauge("ivr_calls_in_progress", "Calls the service is running now").set(len(service.supervisor.tasks))
    by_outcome = gauge("ivr_calls_total", "Finished calls in the call log by outcome", ("outcome",))
    for outcome, count in outcomes.items():
        by_outcome.labels(outcome or "in_progress").set(count)
    gauge("ivr_missed_open", "Missed-call items not closed yet (open or taken)").set(missed_open)
    waiting = gauge("ivr_queue_waiting", "Callers waiting in a queue", ("queue",))
    for name, queue in service.services.queues.queues.items():
        waiting.labels(name).set(len(queue.waiting))
    registered = gauge("ivr_trunk_registered", "1 when the trunk is registered (or needs no registration)",
                       ("trunk", "kind"))
    channels = gauge("ivr_trunk_channels", "Channels in use on the trunk", ("trunk",))
    for state in service.trunks.states:
        registered.labels(state.name, state.kind).set(1 if state.ok else 0)
        channels.labels(state.name).set(state.channels)
    gauge("ivr_event_loop_lag_seconds", "How late the event loop last woke a 0.5 s sleep").set(request.app[LAG][0])
    gauge("ivr_ari_connected", "1 while the service is connected to Asterisk's ARI").set(
        1 if service.ari.connected else 0)
    return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup(app: web.Application) -> None:
    app[LAG] = [0.0]                 # set before the app starts: aiohttp freezes its state then
    app.cleanup_ctx.append(_watch_lag)
    app.router.add_get("/metrics", metrics)
