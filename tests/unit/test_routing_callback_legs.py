"""The call-backs' customer legs on the shared failover (ivr.calls.outbound_leg): the missed-call
call-back and the hunt reach a customer over the next trunk when the first answers 503, and stop
at a busy customer."""
from __future__ import annotations

import asyncio
from datetime import datetime
from types import SimpleNamespace

from ivr.ari.bus import EventBus
from ivr.ari.events import ChannelDestroyed, StasisStart
from ivr.calls.journal import CallJournal
from ivr.calls.session import CallSession
from ivr.flows import hunt
from ivr.flows.context import FlowContext, Services
from ivr.missed.callback import CallbackJob, Callbacks
from ivr.plan.model import ForwardNode, TransferCodes
from test_routing_outbound_leg import NUMBER, FakeAri, info, router_like

T0 = datetime(2026, 11, 25, 11, 0)
STAFF_LEG = "cb-1"


class CallbackAri(FakeAri):
    """Also plays, bridges; a bridged customer hangs up after `talk` seconds."""

    def __init__(self, bus: EventBus, answers: dict[str, int | str], talk: float = 0.05):
        super().__init__(bus, answers)
        self.talk = talk
        self.bridged: list[tuple[str, ...]] = []

    async def add_to_bridge(self, bridge_id: str, *channel_ids: str) -> None:
        self.bridged.append(channel_ids)
        asyncio.get_running_loop().call_later(
            self.talk, self.bus.publish, ChannelDestroyed("ChannelDestroyed", info(channel_ids[-1], "Up"), 16, ""))


async def run_callback(answers: dict[str, int | str]) -> tuple[CallbackJob, CallbackAri]:
    bus = EventBus()
    ari = CallbackAri(bus, answers)
    callbacks = Callbacks(ari, bus, lambda: T0, router_like())  # type: ignore[arg-type]
    item = SimpleNamespace(customer=NUMBER, company_number="+74951110001", id=7, status="open", contact_name="")
    job = CallbackJob(item, "101", STAFF_LEG, 1, router_like()(NUMBER))  # type: ignore[arg-type]
    callbacks.jobs[STAFF_LEG] = job
    ended: list[CallbackJob] = []

    async def on_end(finished: CallbackJob) -> None:
        ended.append(finished)
    with bus.subscribe(STAFF_LEG) as sub:
        await asyncio.wait_for(callbacks.talk(StasisStart("StasisStart", info(STAFF_LEG, "Up"), ("callback",)),
                                              sub, on_end), 5)
    assert ended == [job]
    return job, ari


def kinds(job: CallbackJob) -> list[tuple[str, dict]]:
    return [(kind, data) for _, kind, data in job.steps]


async def test_the_missed_callback_reaches_the_customer_over_the_next_trunk():
    job, ari = await run_callback({"megafon": 34, "tele2": "answer"})
    assert job.outcome == "answered" and job.answered_at == T0
    assert [e.rsplit("-", 1)[1] for e, _, _ in ari.originated] == ["megafon", "tele2"]
    assert ("trunk_failed", {"trunk": "megafon", "cause": 34}) in kinds(job)
    assert ("customer_answered", {"trunk": "tele2"}) in kinds(job)
    assert ari.bridged == [(STAFF_LEG, f"{STAFF_LEG}-customer2")]
    # the customer sees the company number; each attempt carries the number for the trunk report
    assert all(v == {"CDR(userfield)": NUMBER} for _, _, v in ari.originated)


async def test_a_busy_customer_ends_the_callback_on_the_first_trunk():
    job, ari = await run_callback({"megafon": 17, "tele2": "answer"})
    assert job.outcome == "busy" and job.answered_at is None
    assert len(ari.originated) == 1 and ari.bridged == []
    assert ("customer_not_reached", {"result": "busy"}) in kinds(job)
    assert {STAFF_LEG, f"{STAFF_LEG}-customer1"} <= set(ari.hung_up)


class Router:
    """The router's endpoint_for as the hunt calls it (exclude as a keyword)."""

    def __init__(self) -> None:
        self.pick = router_like()

    def endpoint_for(self, number: str, exclude: tuple[str, ...] = ()) -> str:
        return self.pick(number, exclude)

    def caller_id_on(self, trunk: str, caller_id: str = "") -> str:
        return caller_id


async def run_hunt(answers: dict[str, int | str]) -> tuple[FlowContext, CallbackAri]:
    bus = EventBus()
    ari = CallbackAri(bus, answers)
    session = CallSession(ari, bus, bus.subscribe("caller"), "caller", "ru", lambda name, lang: None,
                          datetime.now)  # type: ignore[arg-type]
    plan = SimpleNamespace(staff={}, country="RU", language="ru", trunks={}, default_trunk="",
                           transfer_codes=TransferCodes())
    ctx = FlowContext(call=session, plan=plan, journal=CallJournal(datetime.now),  # type: ignore[arg-type]
                      now=datetime.now, services=Services(router=Router()), caller="+79031112233")
    await asyncio.wait_for(hunt.forward(ForwardNode(id="fw", number=NUMBER, ring_seconds=2, then="after"), ctx), 5)
    return ctx, ari


async def test_a_forward_fails_over_like_the_callbacks():
    ctx, ari = await run_hunt({"megafon": 34, "tele2": "answer"})
    assert [e.rsplit("-", 1)[1] for e, _, _ in ari.originated] == ["megafon", "tele2"]
    assert [(s.kind, s.data.get("trunk")) for s in ctx.journal.steps if s.kind in ("ring", "fail_over")] == [
        ("ring", "megafon"), ("fail_over", "megafon"), ("ring", "tele2")]
    assert ctx.journal.answered_by == NUMBER and len(ari.bridged) == 1


async def test_a_busy_forward_target_is_not_tried_again():
    ctx, ari = await run_hunt({"megafon": 17, "tele2": "answer"})
    assert len(ari.originated) == 1 and ari.bridged == []
    assert [s.data.get("reason") for s in ctx.journal.steps if s.kind == "ring_end"] == ["busy"]
