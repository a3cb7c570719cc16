"""Blind transfer in a hunt-bridged call, with the fake ARI of test_hunt_flow: who may be a target,
the order (target, recall, fallback), and what the phone is told."""
from __future__ import annotations

import asyncio
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from ivr.ari.events import ChannelInfo, ChannelTransfer, StasisStart
from ivr.asterisk.process import Instance
from ivr.asterisk.render import render_pbx
from ivr.calls.handover import HANDOVER_ARGS
from ivr.calls.supervisor import CallSupervisor
from ivr.config import load_settings
from ivr.flows import hunt
from ivr.flows.transfer import CodeReader, CodeRequest, pass_on_order, transfer_target
from ivr.plan.loader import PlanError, load_plan, load_plan_text
from ivr.plan.model import Staff, TransferCodes
from test_hunt_flow import Phone, group, make_ctx, steps

PLANS = Path(__file__).parent / "plans"
INTEGRATION_PLANS = Path(__file__).resolve().parents[1] / "integration" / "plans"


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


async def test_attended_transfer_keeps_the_consulted_phone_when_its_arrival_is_read_first():
    """A REFER with Replaces: the service hangs up the consultation's own side and the consulted
    phone arrives in Stasis(ivr,handover). The answer to that hang-up and the StasisStart can come in
    one websocket read, so the call may read the arrival before the handover handler runs: the phone
    must still be kept (a fresh-clone run lost it this way, once in three runs of the test)."""
    ctx, ari = make({"102": Phone("answer", hangup_after=5), "101": Phone("answer", hangup_after=0.3)})
    supervisor = CallSupervisor(ari.bus, {HANDOVER_ARGS: ctx.services.handovers.handler(ari)})
    consulted = ChannelInfo("consulted", "PJSIP/101-00000007", "Up", "102", "", "", "", "ru")
    ari.channels["consulting"] = ChannelInfo("consulting", "PJSIP/102-00000006", "Up", "102", "", "101", "", "ru")
    ari.channels["consulted"], ari.targets["consulted"] = consulted, "101"
    original_bridge, original_hangup = ari.add_to_bridge, ari.hangup
    at_bridge: dict[str, float] = {}

    async def bridged(bridge_id: str, *channel_ids: str) -> None:
        await original_bridge(bridge_id, *channel_ids)
        at_bridge[channel_ids[-1]] = ari.now()
        if ari.targets[channel_ids[-1]] == "102":
            ari.later(0.05, ChannelTransfer("ChannelTransfer", channel_ids[-1], "101", "cid-1", "consulting",
                                            connected_channel_id="consulted"))

    async def hangup(channel_id: str, reason: str = "normal") -> None:
        await original_hangup(channel_id, reason)
        if channel_id == "consulting":      # Dial's F(): the other side goes to Stasis at once
            supervisor.on_event(StasisStart("StasisStart", consulted, (HANDOVER_ARGS,)))
    ari.add_to_bridge, ari.hangup = bridged, hangup
    await hunt.run(group("102"), ctx)
    await asyncio.gather(*supervisor.tasks.values())
    assert "consulted" in at_bridge, ari.ops
    # It ended by itself 0.3 s after joining the caller, not at once by the service's hand.
    assert ari.hung_up.get("consulted", math.inf) - at_bridge["consulted"] > 0.2, ari.hung_up
    assert ctx.journal.answered_by == "101"
    assert [s.data for s in ctx.journal.steps if s.kind == "transfer"] == [
        {"by": "102", "to": "101", "mode": "attended"}]


# ----- in-call transfer codes -----

def keyed(reader: CodeReader, digits: str, at: float = 0.0):
    return [reader.feed(d, at) for d in digits]


def test_blind_code_number_ends_on_hash():
    reader = CodeReader(TransferCodes())
    assert keyed(reader, "5##103") == [None] * 6
    assert reader.feed("#", 0.5) == CodeRequest("blind", "103")
    assert reader.mode == "" and reader.until == math.inf


def test_attended_code_number_ends_after_the_digit_time():
    reader = CodeReader(TransferCodes(digit_seconds=1.0))
    keyed(reader, "*2101", at=10.0)
    assert reader.expire(10.5) is None
    assert reader.expire(11.0) == CodeRequest("attended", "101")


def test_a_code_without_a_number_is_nothing_and_other_digits_are_ignored():
    reader = CodeReader(TransferCodes(blind="#1", attended="*3"))
    assert keyed(reader, "123*2##") == [None] * 7
    assert reader.mode == ""
    keyed(reader, "#1")
    assert reader.feed("#", 0.0) is None and reader.mode == ""


def plan_with(text: str):
    return load_plan_text(text, "p.yaml", secrets_path=PLANS / "secrets.yaml")


def test_plan_transfer_codes_are_read_and_checked():
    base = (PLANS / "good.yaml").read_text(encoding="utf-8")
    plan = plan_with(base + 'transfer_codes: {blind: "#1", attended: "*3", digit_seconds: 2}\n')
    assert plan.transfer_codes == TransferCodes("#1", "*3", 2.0)
    assert plan_with(base).transfer_codes == TransferCodes("##", "*2", 3.0)
    with pytest.raises(PlanError) as info:
        plan_with(base + 'transfer_codes: {blind: "*2", attended: "*", colour: red}\n')
    messages = [p.message for p in info.value.problems]
    assert any("colour" in m for m in messages), messages
    assert any("transfer_codes attended: expected 2 to 4 of 0-9 * #, got '*'" in m for m in messages), messages
    with pytest.raises(PlanError) as info:
        plan_with(base + 'transfer_codes: {blind: "*2", attended: "*21"}\n')
    assert "neither may begin the other" in info.value.problems[0].message


def contexts(conf: str) -> dict[str, list[str]]:
    """An extensions.conf's extension lines by context."""
    found: dict[str, list[str]] = {}
    current = ""
    for line in conf.splitlines():
        if line.startswith("["):
            current = line.strip("[]")
        elif line.startswith("exten =>"):
            found.setdefault(current, []).append(line.split("=>", 1)[1].split(",", 1)[0].strip())
    return found


def test_internal_calls_hand_the_called_phone_over_and_keep_the_staff_codes(tmp_path):
    settings = load_settings(env={"IVR_SETTINGS": str(tmp_path / "none.yaml")})
    plan = load_plan(INTEGRATION_PLANS / "ivr.yaml", secrets_path=INTEGRATION_PLANS / "secrets.yaml")
    instance = Instance("pbx", tmp_path / "pbx", Path(settings.asterisk_rootfs))
    render_pbx(settings, plan, instance)
    conf = (instance.etc / "extensions.conf").read_text()
    staff = contexts(conf)["from-staff"]
    assert {"*8", "*78", "*79", "*45", "_."} <= set(staff), staff
    assert contexts(conf)["staff-handover"] == ["s"]
    assert "F(staff-handover^s^1)" in conf
