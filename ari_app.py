#!/usr/bin/env python3
"""The IVR service: connects to Asterisk's ARI, runs every call, serves the web API.

SIGHUP (or `ivr plan apply`) makes the active plan version live; SIGTERM / Ctrl-C stop it cleanly.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import os
import secrets
import signal
import sys

from aiohttp import web

from ivr import logs, sd_notify
from ivr.cluster.layout import load_layout
from ivr.cluster.lease import Lease, applies as lease_applies, node_key, standby_key
from ivr.cluster.takeover import NodeTakeover, singleton_jobs
from ivr.config import load_settings
from ivr.errors import IvrError
from ivr.notify.mailbox import Mailbox
from ivr.security import local
from ivr.security.tls import server_context
from ivr.service import IvrService
from ivr.store.db import open_database
from ivr.users import UserExists, UserStore
from ivr.web.app import create_app

log = logging.getLogger("ivr")


async def first_admin(settings, db) -> None:
    """A fresh install gets one admin account; its password is written to var/admin-password."""
    users = UserStore(db)
    if await users.count():
        return
    password = secrets.token_urlsafe(12)
    try:
        await users.add("admin", password, "admin")
    except UserExists:
        return              # a second service started at the same moment on the same database
    path = settings.var / "admin-password"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n")
    path.chmod(0o600)
    log.warning("created console user admin; its password is in %s", path)


async def main() -> int:
    settings = load_settings()
    logs.setup(settings.log_level, settings.log_format)
    tls = server_context(settings)               # a bad certificate stops the start, before anything runs
    db = await open_database(settings.database_url, settings)
    service = IvrService(settings, db)
    await service.start()
    holder = settings.instance_name or f"{settings.web_host}:{settings.web_port}"
    lease = Lease(settings, node_key(settings.node_name), holder) if lease_applies(settings) else None
    if lease is not None:
        # A standby instance waits here until the node's holder is gone.
        await lease.acquire(standby=standby_key(settings.node_name))
    await service.apply_asterisk_config()
    await first_admin(settings, db)
    await local.provision(settings, db)      # tokens of the AGI script and the `ivr` commands

    mailbox = None
    if settings.demo_mailbox_port:
        # The demo's catch-all SMTP server: missed-call mails can be read in the console.
        mailbox = Mailbox("127.0.0.1", settings.demo_mailbox_port, settings.var / "mailbox")
        mailbox.start()
        log.info("demo mailbox on 127.0.0.1:%s", settings.demo_mailbox_port)

    runner = web.AppRunner(create_app(service), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.web_host, settings.web_port, ssl_context=tls).start()
    if tls is not None:
        # Local callers (the AGI script, `ivr` commands) keep plain HTTP on loopback; still token-only.
        await web.TCPSite(runner, "127.0.0.1", settings.internal_port).start()
        if not settings.public_url.startswith("https:"):
            log.warning("tls is on but public_url %s is not https: session cookies are not marked Secure",
                        settings.public_url)
    pidfile = settings.var / "ivr.pid"
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.write_text(str(os.getpid()))
    log.info("web api on %s://%s:%s", "https" if tls else "http", settings.web_host, settings.web_port)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Every task started here is kept, then cancelled and awaited at the stop.
    tasks: set[asyncio.Task] = set()

    def keep(task: asyncio.Task) -> None:
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    loop.add_signal_handler(signal.SIGHUP, lambda: keep(asyncio.create_task(service.reload_plan(), name="reload")))
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The service's loops (ARI, dialer, SIP guard, trunk watch) in one task group: if one of them
    # fails the process stops, loudly, rather than go on half alive.
    loops = asyncio.create_task(service.run(), name="service")
    loops.add_done_callback(lambda task: task.cancelled() or stop.set())
    keep(loops)
    # What exists now (modules, the plan, the database's metadata: about 140,000 objects) lives as
    # long as the process. Frozen, the garbage collector's full passes no longer walk it: each took
    # 100 ms of CPU, a seventh of the service's CPU per call at 200 concurrent calls. Reference
    # counting still frees any of it that is dropped (an old plan after a reload).
    gc.freeze()
    sd_notify.notify("READY=1")
    keep(asyncio.create_task(sd_notify.watchdog(), name="watchdog"))
    if lease is None:
        service.start_jobs()
    else:
        # Without its lease another instance may take the node: stop serving it at once.
        watch = asyncio.create_task(lease.hold(), name="lease")
        watch.add_done_callback(lambda _: stop.set())
        keep(watch)
        keep(asyncio.create_task(singleton_jobs(settings, holder, service.start_jobs, service.stop_jobs),
                                 name="cluster-jobs"))
        if settings.path(settings.cluster_file).exists():      # the other nodes are named there
            takeover = NodeTakeover(load_layout(settings), settings, holder, lambda s: IvrService(s, db))
            service.also_serving, service.handing_back = takeover.nodes, takeover.handing_back
            keep(asyncio.create_task(takeover.run(), name="takeover"))
        else:
            log.warning("no cluster file %s: this instance takes over no other node", settings.cluster_file)
    await stop.wait()
    log.info("stopping")
    sd_notify.notify("STOPPING=1")
    failed = loops.exception() if loops.done() and not loops.cancelled() else None
    if failed is not None:
        log.error("service loop failed, stopping", exc_info=failed)
    running = list(tasks)
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    await service.shutdown()
    await runner.cleanup()
    if mailbox is not None:
        mailbox.stop()
    if lease is not None:
        await lease.release()
    await db.close()
    pidfile.unlink(missing_ok=True)
    return 1 if failed is not None else 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except IvrError as e:
        print(f"ivr: {e.message}", file=sys.stderr)
        sys.exit(1)
