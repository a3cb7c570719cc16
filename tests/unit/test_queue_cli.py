"""`ivr queues` and `ivr queues agent ACTION EXT`: through the web API when the service runs,
straight to the database when it does not."""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp import web

from ivr.ari.bus import EventBus
from ivr.cli import queues as queues_cli
from ivr.config import Settings
from ivr.errors import IvrError
from ivr.plan.model import Plan, QueueNode, Staff
from ivr.queues.manager import QueueManager
from ivr.store.db import open_database
from ivr.store.queues import QueueEntry, QueueStore
from ivr.web import queues as queue_routes
from ivr.web.app import errors
from ivr.web.keys import SERVICE

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def run(argv: list[str], settings: Settings) -> int:
    parser = argparse.ArgumentParser(prog="ivr")
    queues_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args, settings)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(Settings(), database_url=f"sqlite+aiosqlite:///{tmp_path / 'ivr.db'}",
                               web_host="127.0.0.1", web_port=free_port(), clock=NOW.isoformat())


def test_agent_change_without_the_service_goes_to_the_database(settings, capsys):
    assert run(["queues", "agent", "pause", "101", "--reason", "lunch"], settings) == 0
    assert capsys.readouterr().out == \
        "agent 101: paused (service not running: stored, it applies at the next start)\n"

    async def stored():
        db = await open_database(settings.database_url, settings)
        try:
            store = QueueStore(db)
            await store.add_entry(QueueEntry(queue="line", joined_at=NOW, outcome="answered", wait_seconds=8,
                                             agent="101", talk_seconds=42))
            return await store.agents()
        finally:
            await db.close()

    agents = asyncio.run(stored())
    assert agents["101"].paused and agents["101"].reason == "lunch"
    assert run(["queues", "--since", "2026-11-25T00:00:00+00:00"], settings) == 0
    out = capsys.readouterr().out
    assert out.startswith("service not running")
    assert "queue line (offline): 0 waiting" in out and "offered 1  answered 1" in out
    assert "agent    101  paused     (lunch)  calls 1  talk 42 s" in out


def test_bad_extension_is_refused(settings):
    with pytest.raises(IvrError, match="must be digits"):
        run(["queues", "agent", "login", "10a"], settings)


async def test_with_the_service_running_the_api_is_used(settings, capsys):
    db = await open_database(settings.database_url, settings)
    line = QueueNode(id="line", agents=("101",))
    live = Plan(company="c", timezone="UTC", country="RU", language="ru", languages=("ru",), ring_seconds=5,
                short_call_seconds=3, numbers={}, schedules={}, staff={"101": Staff("101", "A", "pw")},
                fallback=(), nodes={"line": line})
    manager = QueueManager(EventBus(), QueueStore(db), lambda: NOW, lambda: live)
    app = web.Application(middlewares=[errors])
    app[SERVICE] = SimpleNamespace(services=SimpleNamespace(queues=manager))
    queue_routes.setup(app)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.web_port).start()
    try:
        manager.join(line, "+79160000001", "c1", 1)
        code = await asyncio.to_thread(run, ["queues", "agent", "logout", "101"], settings)
        assert code == 0 and capsys.readouterr().out == "agent 101: logged out\n"
        assert not manager.agents["101"].logged_in
        with pytest.raises(IvrError, match="no staff extension 555"):
            await asyncio.to_thread(run, ["queues", "agent", "login", "555"], settings)
        assert await asyncio.to_thread(run, ["queues"], settings) == 0
        out = capsys.readouterr().out
        assert "queue line (ringall): 1 waiting" in out and "+79160000001" in out
        assert "agent    101  logged out" in out
    finally:
        await runner.cleanup()
        await manager.stop()
        await db.close()
