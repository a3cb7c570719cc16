"""Blind transfer in a hunt-bridged call, with the fake ARI of test_hunt_flow: who may be a target,
the order (target, recall, fallback), and what the phone is told."""
from __future__ import annotations

from types import SimpleNamespace

from ivr.ari.events import ChannelTransfer
from ivr.flows import hunt
from ivr.flows.transfer import pass_on_order, transfer_target
from ivr.plan.model import Staff
from test_hunt_flow import Phone, group, make_ctx, steps


def plan(**kw) -> SimpleNamespace:
    staff = {e: Staff(e, e, "pw", dial=("internal", "local", "mobile")) for e in ("101", "102", "103")}
    return SimpleNamespace(staff=staff, country="RU", fallback=("101", "102"), **kw)


def test_targets_are_staff_or_numbers_the_phone_may_dial():
    p = plan()
    assert transfer_target("103", p, "102") == ("103", "")
    assert transfer_target("102", p, "102") == ("", "same_phone")
    assert transfer_target("999", p, "102") == ("", "unknown_extension")
    assert transfer_target("89161234567", p, "102") == ("+79161234567", "")
    assert transfer_target("+12025550123", p, "102") == ("", "not_allowed")     # international
    assert transfer_target("abc", p, "102") == ("", "invalid_number")


def test_order_is_target_then_recall_then_the_other_fallback_phones():
    p = plan()
    assert pass_on_order(p, "102", "103") == [("103",), ("102",), ("101",)]
    assert pass_on_order(p, "102", "101") == [("101",), ("102",)]


def make(phones: dict[str, Phone]):
    ctx, ari = make_ctx(phones)
    ctx.plan = SimpleNamespace(**vars(ctx.plan), fallback=("101",), transfer_ring_seconds=0.3)
    ctx.plan.staff = {e: Staff(e, e, "pw") for e in ("101", "102", "103")}
    return ctx, ari


def refer(ari, leg: str, destination: str, after: float) -> None:
    ari.later(after, ChannelTransfer("ChannelTransfer", leg, destination, "", ""))


async def test_blind_transfer_rings_the_target_and_bridges_it():
    ctx, ari = make({"102": Phone("answer", hangup_after=5), "103": Phone("answer", after=0.1)})
    original = ari.add_to_bridge

    async def bridged(bridge_id: str, *channel_ids: str) -> None:
        await original(bridge_id, *channel_ids)
        if ari.targets[channel_ids[-1]] == "102":
            refer(ari, channel_ids[-1], "103", 0.05)
    ari.add_to_bridge = bridged
    await hunt.run(group("102"), ctx)
    desk = next(k for k, t in ari.targets.items() if t == "102")
    assert ari.progress == [(desk, "channel_answered")] and ari.unbridged == ["caller"]
    assert [ari.targets[b[-1]] for b in ari.bridged] == ["102", "103"]
    assert ctx.journal.answered_by == "103" and ctx.journal.outcome == "answered"
    assert [s.data for s in ctx.journal.steps if s.kind == "transfer"] == [
        {"by": "102", "to": "103", "mode": "blind"}]


async def test_nobody_answering_a_transfer_is_its_own_outcome():
    ctx, ari = make({"102": Phone("answer", hangup_after=5)})
    original = ari.add_to_bridge

    async def bridged(bridge_id: str, *channel_ids: str) -> None:
        await original(bridge_id, *channel_ids)
        ari.phones["102"] = Phone("ignore")                     # away from the desk for the recall
        refer(ari, channel_ids[-1], "103", 0.05)
    ari.add_to_bridge = bridged
    await hunt.run(group("102"), ctx)
    rung = [t for t, _ in ari.rang]
    assert rung == ["102", "103", "102", "101"]
    assert ctx.journal.outcome == "transfer_no_answer"
    assert ("ring_end", "103", "no_answer") in steps(ctx, "ring_end")


async def test_a_refused_transfer_keeps_the_call():
    ctx, ari = make({"102": Phone("answer", hangup_after=0.4)})
    original = ari.add_to_bridge

    async def bridged(bridge_id: str, *channel_ids: str) -> None:
        await original(bridge_id, *channel_ids)
        refer(ari, channel_ids[-1], "555", 0.05)
    ari.add_to_bridge = bridged
    await hunt.run(group("102"), ctx)
    assert [state for _, state in ari.progress] == ["channel_declined"] and ari.unbridged == []
    assert ctx.journal.answered_by == "102" and [t for t, _ in ari.rang] == ["102"]
