"""A node taken over goes back to its own instance once that instance stands by for it again: at once
without calls, after its calls when there are some, at the latest after the bound; the taker leaves
the calls it still has in Stasis (its ARI detached before it shuts the node's service down). On a
real PostgreSQL (the leases), with a stand-in for the node's service."""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ivr.cluster.hand_back import HandBack
from ivr.cluster.layout import ClusterLayout, Node
from ivr.cluster.lease import Lease, holders, node_key, standby_key
from ivr.cluster.takeover import NodeTakeover
from ivr.config import Settings
from ivr.testing.postgres import create_database

pytestmark = pytest.mark.postgres
NODE = Node("node1", "127.0.0.9")


@pytest.fixture
async def settings(postgres_url: str) -> Settings:
    url = await create_database(postgres_url)
    return replace(Settings(), database_url=url, node_name="node2")


class StandInAri:
    def __init__(self, done: list[str]):
        self.connected, self.done = True, done

    def detach(self) -> None:
        self.done.append("detach")


class StandInService:
    """What NodeTakeover asks of the node's IvrService; `calls` as the test sets them."""

    def __init__(self, calls: int):
        self.calls, self.done = calls, []
        self.ari = StandInAri(self.done)

    def calls_in_progress(self) -> int:
        return self.calls

    async def start(self) -> None:
        self.done.append("start")

    async def apply_asterisk_config(self) -> None:
        pass

    async def run(self) -> None:
        await asyncio.Event().wait()

    async def shutdown(self) -> None:
        self.done.append("shutdown")


def taker(settings: Settings, services: list[StandInService], calls: int, bound: int) -> NodeTakeover:
    def make_service(node_settings: Settings) -> StandInService:
        services.append(StandInService(calls))
        return services[-1]

    layout = ClusterLayout("127.0.0.1", 5060, 5432, (NODE,), (), Path("."), Path("."))
    takeover = NodeTakeover(layout, settings, "svc2", make_service)
    takeover.node_settings = lambda node: replace(settings, node_name=node.name,  # type: ignore[method-assign]
                                                  hand_back_seconds=bound)
    return takeover


async def until(check, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        await asyncio.sleep(0.05)


async def taken_over(settings: Settings, services: list, calls: int, bound: int):
    """svc1 served node1 and died; svc2 took the node over. Returns svc2's takeover and its task."""
    home = Lease(settings, node_key("node1"), "svc1")
    await home.acquire(standby=standby_key("node1"))
    takeover = taker(settings, services, calls, bound)
    watching = asyncio.create_task(takeover._watch(NODE))
    await asyncio.sleep(0.7)                        # seen held
    await home.release()                            # svc1 dies
    await until(lambda: services and takeover.serving, 5)
    return takeover, watching


async def test_the_node_goes_back_once_the_takers_calls_there_have_ended(settings):
    services: list[StandInService] = []
    takeover, watching = await taken_over(settings, services, calls=1, bound=60)
    back = Lease(settings, node_key("node1"), "svc1")
    returning = asyncio.create_task(back.acquire(standby=standby_key("node1")))     # svc1 restarted
    try:
        await until(lambda: takeover.handing_back() == ["node1"], 5)
        await asyncio.sleep(1.2)
        assert not returning.done() and services[0].done == ["start"]       # a call still up there
        services[0].calls = 0
        await asyncio.wait_for(returning, 5)
        assert services[0].done == ["start", "detach", "shutdown"]
        assert takeover.serving == {} and takeover.handing_back() == []
        assert (await holders(settings, [node_key("node1")]))[node_key("node1")] == "svc1"
        await asyncio.sleep(1.2)                    # svc2 sees svc1 holding the node
        await back.release()                        # svc1 dies again: svc2 takes the node once more
        await until(lambda: len(services) == 2 and takeover.serving, 5)
    finally:
        watching.cancel()
        returning.cancel()
        await asyncio.gather(watching, returning, return_exceptions=True)
        await back.release()
    assert services[1].done == ["start", "shutdown"]    # a stop of the process itself: no detach


async def test_calls_that_do_not_end_are_left_in_stasis_at_the_bound(settings):
    services: list[StandInService] = []
    takeover, watching = await taken_over(settings, services, calls=2, bound=1)
    back = Lease(settings, node_key("node1"), "svc1")
    returning = asyncio.create_task(back.acquire(standby=standby_key("node1")))
    try:
        started = time.monotonic()
        await asyncio.wait_for(returning, 6)
        assert time.monotonic() - started >= 1.0
        assert services[0].done == ["start", "detach", "shutdown"] and services[0].calls == 2
    finally:
        watching.cancel()
        returning.cancel()
        await asyncio.gather(watching, returning, return_exceptions=True)
        await back.release()


async def test_without_calls_at_once_and_called_off_when_the_standby_leaves():
    standby: list[str | None] = [None]
    calls = [1]

    async def holder() -> str | None:
        if standby[0] == "error":
            raise ConnectionError("database unreachable")
        return standby[0]

    watch = HandBack("node1", holder, lambda: calls[0], bound=60, poll=0.02)
    due = asyncio.create_task(watch.due())
    try:
        await asyncio.sleep(0.1)
        assert watch.to is None
        standby[0] = "svc1"
        await until(lambda: watch.to == "svc1", 1)
        standby[0] = "error"                        # the database away: nothing changes
        await asyncio.sleep(0.1)
        assert watch.to == "svc1" and not due.done()
        standby[0] = None                           # svc1 stopped again: the node stays here
        await until(lambda: watch.to is None, 1)
        calls[0] = 0
        standby[0] = "svc1b"
        assert await asyncio.wait_for(due, 1) == "svc1b"
    finally:
        due.cancel()
        await asyncio.gather(due, return_exceptions=True)
