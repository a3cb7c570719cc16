"""The hunt executor against a fake ARI: who rings when, confirm mode, limits, memory, hang-up.

`FakeAri` has the operations the hunt uses and plays the phones' parts from a script (answer after
N s, busy, press a digit), publishing the events Asterisk would send. Ring times are a few tenths
of a second, so timings are checked with loose tolerances.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

import pytest

from ivr.ari.bus import EventBus
from ivr.ari.events import (ChannelDestroyed, ChannelDtmfReceived, ChannelHangupRequest, ChannelInfo,
                            ChannelStateChange, Dial, PlaybackEvent, StasisStart)
from ivr.calls.journal import CallJournal
from ivr.calls.session import CallEnded, CallSession
from ivr.errors import IvrError
from ivr.flows import hunt
from ivr.flows.context import FlowContext, Services
from ivr.plan.model import HuntMember, HuntNode, TransferCodes, Trunk
from ivr.testing import fake_ari as testing

CALLER = "caller"
MOBILE = "+79161234567"
PROMPT_SECONDS = 0.3


@dataclass(frozen=True)
class Phone:
    action: str = "ignore"        # ignore | busy | answer
    after: float = 0.0
    press: str = ""               # digit pressed after answering (confirm mode)
    press_after: float = 0.1
    hangup_after: float = 0.2     # once bridged
    state: str = "NOT_INUSE"      # device state


def channel(channel_id: str, state: str = "Ring") -> ChannelInfo:
    return ChannelInfo(channel_id, "PJSIP/x", state, "", "", "", "", "")


class FakeAri(testing.FakeAri):
    """Staff phones that ring, are busy, answer (and press a digit) as `phones` say."""

    def __init__(self, bus: EventBus, phones: dict[str, Phone]):
        super().__init__(bus)
        self.phones = phones
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        self.rang: list[tuple[str, float]] = []        # (target, when dialled)
        self.hung_up: dict[str, float] = {}            # leg id -> when
        self.targets: dict[str, str] = {}              # leg id -> target
        self.played: list[tuple[str, list[str]]] = []
        self.bridged: list[tuple[str, ...]] = []
        self.moh: list[str] = []
        self.vars: dict[tuple[str, str], str] = {}
        self.progress: list[tuple[str, str]] = []        # transfer_progress: (leg id, state)
        self.unbridged: list[str] = []

    def now(self) -> float:
        return self.loop.time() - self.t0

    async def device_state(self, device: str) -> str:
        return self.phones.get(device.removeprefix("PJSIP/"), Phone()).state

    async def create_channel(self, endpoint: str, channel_id: str, app_args: str,
                             variables: dict[str, str] | None = None) -> ChannelInfo:
        target = endpoint.removeprefix("PJSIP/").split("@")[0]
        self.targets[channel_id] = target
        self.endpoint = endpoint
        self.later(0, StasisStart("StasisStart", channel(channel_id, "Down"), (app_args,)))
        return channel(channel_id, "Down")

    async def dial(self, channel_id: str, caller_channel: str | None = None, timeout: int = 0) -> None:
        target = self.targets[channel_id]
        self.rang.append((target, self.now()))
        phone = self.phones.get(target, Phone())
        if phone.action == "busy":
            self.later(0.01, ChannelHangupRequest("ChannelHangupRequest", channel(channel_id), 17))
            self.later(0.02, Dial("Dial", channel_id, CALLER, "BUSY"))
        elif phone.action == "answer":
            self.later(phone.after, ChannelStateChange("ChannelStateChange", channel(channel_id, "Up")))
            if phone.press:
                self.later(phone.after + phone.press_after,
                           ChannelDtmfReceived("ChannelDtmfReceived", channel(channel_id, "Up"), phone.press, 100))

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self.hung_up.setdefault(channel_id, self.now())

    async def play(self, channel_id: str, media: list[str], playback_id: str, lang: str | None = None) -> None:
        self.played.append((channel_id, media))
        if channel_id != CALLER:
            self.later(PROMPT_SECONDS, PlaybackEvent("PlaybackFinished", playback_id, f"channel:{channel_id}", "done"))

    async def start_moh(self, channel_id: str, moh_class: str = "default") -> None:
        self.moh.append(moh_class)

    async def add_to_bridge(self, bridge_id: str, *channel_ids: str) -> None:
        self.bridged.append(channel_ids)
        member = channel_ids[-1]
        after = self.phones[self.targets[member]].hangup_after
        self.later(after, ChannelDestroyed("ChannelDestroyed", channel(member, "Up"), 16, "Normal"))

    async def destroy_bridge(self, bridge_id: str) -> None:
        pass

    async def remove_from_bridge(self, bridge_id: str, channel_id: str) -> None:
        self.unbridged.append(channel_id)

    async def set_var(self, channel_id: str, variable: str, value: str) -> None:
        self.vars[(channel_id, variable)] = value
        await super().set_var(channel_id, variable, value)

    async def transfer_progress(self, channel_id: str, state: str) -> None:
        self.progress.append((channel_id, state))

    def ring_time(self, target: str) -> float:
        leg = next(k for k, t in self.targets.items() if t == target)
        start = next(w for t, w in self.rang if t == target)
        return self.hung_up[leg] - start


def make_ctx(phones: dict[str, Phone], services: Services | None = None) -> tuple[FlowContext, FakeAri]:
    bus = EventBus()
    ari = FakeAri(bus, phones)
    session = CallSession(ari, bus, bus.subscribe(CALLER), CALLER, "ru",
                          lambda name, lang: f"/sounds/{lang}/{name}", datetime.now)
    plan = SimpleNamespace(staff={"101": None, "102": None, "103": None}, country="RU", language="ru",
                           trunks={"default": Trunk("default", "127.0.0.11", default=True)}, default_trunk="default",
                           transfer_codes=TransferCodes())
    ctx = FlowContext(call=session, plan=plan, journal=CallJournal(datetime.now), now=datetime.now,
                      services=services or Services())
    return ctx, ari


def group(*members: HuntMember | str, ring: float = 0.3, **kw) -> HuntNode:
    return HuntNode(id="g", members=tuple(m if isinstance(m, HuntMember) else HuntMember(m, ring)
                                          for m in members), then="after", **kw)


def steps(ctx: FlowContext, *kinds: str) -> list[tuple]:
    return [(s.kind, s.data.get("target", s.data.get("member")), s.data.get("reason"))
            for s in ctx.journal.steps if s.kind in kinds]


async def test_sequential_skips_busy_device_and_bridges_the_answer():
    ctx, ari = make_ctx({"101": Phone(state="INUSE"), "102": Phone(), "103": Phone("answer", after=0.1)})
    assert await hunt.run(group("101", "102", "103"), ctx) is None
    assert [t for t, _ in ari.rang] == ["102", "103"]
    assert abs(ari.ring_time("102") - 0.3) < 0.1
    assert ari.bridged == [(CALLER, next(k for k, t in ari.targets.items() if t == "103"))]
    assert steps(ctx, "skipped", "ring", "ring_end", "answered") == [
        ("skipped", "101", "busy"), ("ring", "102", None), ("ring_end", "102", "no_answer"),
        ("ring", "103", None), ("answered", "103", None)]
    assert ctx.journal.answered_by == "103"
    assert ari.played[0] == (CALLER, ["tone:ring;tonezone=ru"])


async def test_busy_answer_from_the_phone_moves_on_at_once():
    ctx, ari = make_ctx({"101": Phone("busy"), "102": Phone("answer", after=0.05)})
    await hunt.run(group("101", "102"), ctx)
    (_, t101), (_, t102) = ari.rang
    assert t102 - t101 < 0.1
    assert ("ring_end", "101", "busy") in steps(ctx, "ring_end")


async def test_overlap_starts_the_next_one_ring_before_the_previous_ends():
    ctx, ari = make_ctx({})
    nxt = await hunt.run(group("101", "102", "103", ring=0.4, strategy="overlap", overlap_seconds=0.2), ctx)
    assert nxt == "after"
    starts = dict(ari.rang)
    assert abs(starts["102"] - starts["101"] - 0.2) < 0.08 and abs(starts["103"] - starts["102"] - 0.2) < 0.08
    for target in ("101", "102", "103"):
        assert abs(ari.ring_time(target) - 0.4) < 0.1, target
    assert ctx.journal.outcome == "no_answer"


async def test_ringall_rings_everyone_and_cancels_the_others():
    ctx, ari = make_ctx({"102": Phone("answer", after=0.1)})
    await hunt.run(group("101", "102", "103", strategy="ringall"), ctx)
    assert sorted(t for t, _ in ari.rang) == ["101", "102", "103"]
    assert sorted(r for _, t, r in steps(ctx, "ring_end")) == ["answered_elsewhere", "answered_elsewhere"]


async def test_follow_me_goes_to_the_mobile_on_the_default_trunk():
    ctx, ari = make_ctx({MOBILE: Phone("answer", after=0.05)})
    await hunt.run(group(HuntMember("101", 0.2, follow_me=(MOBILE,)), "102"), ctx)
    assert [t for t, _ in ari.rang] == ["101", MOBILE]
    assert ari.endpoint == f"PJSIP/{MOBILE}@trunk-default"
    assert ctx.journal.answered_by == "101"
    answered = next(s.data for s in ctx.journal.steps if s.kind == "answered")
    assert answered["member"] == "101" and answered["target"] == MOBILE


async def test_confirm_accepted_with_1():
    ctx, ari = make_ctx({MOBILE: Phone("answer", after=0.05, press="1", press_after=0.2)})
    await hunt.run(group(HuntMember(MOBILE, 1.0, confirm=True), "102"), ctx)
    assert [t for t, _ in ari.rang] == [MOBILE]
    assert (next(k for k, t in ari.targets.items() if t == MOBILE), ["sound:/sounds/ru/confirm-call"]) in ari.played
    assert ctx.journal.answered_by == MOBILE
    assert next(s.data for s in ctx.journal.steps if s.kind == "answered")["confirmed"] is True


@pytest.mark.parametrize("phone", [
    Phone("answer", after=0.05),                                  # a voicemail box: never presses
    Phone("answer", after=0.05, press="2", press_after=0.1),      # a wrong key
], ids=["silence", "wrong-key"])
async def test_confirm_without_1_goes_on(phone, monkeypatch):
    monkeypatch.setattr(hunt, "CONFIRM_SECONDS", 0.3)
    ctx, ari = make_ctx({MOBILE: phone, "102": Phone("answer", after=0.05)})
    await hunt.run(group(HuntMember(MOBILE, 1.0, confirm=True), "102"), ctx)
    assert [t for t, _ in ari.rang] == [MOBILE, "102"]
    # Prompt (0.3 s) then the 0.3 s to press, counted from the pick-up.
    assert abs(ari.ring_time(MOBILE) - (0.05 + PROMPT_SECONDS + 0.3)) < 0.15
    assert ("ring_end", MOBILE, "not_confirmed") in steps(ctx, "ring_end")
    assert ctx.journal.answered_by == "102"


async def test_mobile_hanging_up_during_the_question_is_declined():
    ctx, ari = make_ctx({MOBILE: Phone("answer", after=0.05), "102": Phone("answer", after=0.05)})
    task = asyncio.create_task(hunt.run(group(HuntMember(MOBILE, 1.0, confirm=True), "102"), ctx))
    await asyncio.sleep(0.15)
    leg = next(k for k, t in ari.targets.items() if t == MOBILE)
    ari.bus.publish(ChannelHangupRequest("ChannelHangupRequest", channel(leg, "Up"), 16))
    await task
    assert ("ring_end", MOBILE, "declined") in steps(ctx, "ring_end")
    assert ctx.journal.answered_by == "102"


async def test_group_limit_cuts_the_ringing_and_music_replaces_ringback():
    ctx, ari = make_ctx({})
    nxt = await hunt.run(group("101", "102", "103", ring=0.4, limit_seconds=0.6, music="default"), ctx)
    assert nxt == "after"
    assert [t for t, _ in ari.rang] == ["101", "102"]
    assert abs(ari.ring_time("102") - 0.2) < 0.1
    assert ari.moh == ["default"] and not ari.played
    nobody = next(s.data for s in ctx.journal.steps if s.kind == "nobody_answered")
    assert abs(nobody["seconds"] - 0.6) < 0.1


async def test_roundrobin_and_memory_remember_across_calls():
    services = Services()
    first = []
    for _ in range(3):
        ctx, ari = make_ctx({t: Phone("answer", after=0.02) for t in ("101", "102", "103")}, services)
        await hunt.run(group("101", "102", "103", strategy="roundrobin"), ctx)
        first.append(ari.rang[0][0])
    assert first == ["101", "102", "103"]

    ctx, ari = make_ctx({"102": Phone("answer", after=0.02)}, services)
    await hunt.run(HuntNode(id="m", members=(HuntMember("101", 0.1), HuntMember("102", 0.1)),
                            strategy="memory"), ctx)
    ctx, ari = make_ctx({"102": Phone("answer", after=0.02)}, services)
    await hunt.run(HuntNode(id="m", members=(HuntMember("101", 0.1), HuntMember("102", 0.1)),
                            strategy="memory"), ctx)
    assert [t for t, _ in ari.rang] == ["102"]


async def test_caller_hanging_up_cancels_every_ringing_leg():
    ctx, ari = make_ctx({})
    task = asyncio.create_task(hunt.run(group("101", "102", "103", ring=2.0, strategy="ringall"), ctx))
    await asyncio.sleep(0.2)
    ari.bus.publish(ChannelHangupRequest("ChannelHangupRequest", channel(CALLER, "Up"), 16))
    with pytest.raises(CallEnded):
        await task
    assert sorted(ari.targets) == sorted(ari.hung_up)
    assert [r for _, _, r in steps(ctx, "ring_end")] == ["caller_hung_up"] * 3


async def test_a_number_no_trunk_may_carry_is_skipped():
    class NoRoute:
        def endpoint_for(self, number: str) -> str:
            raise IvrError(f"no trunk may carry a call to {number} now")

    ctx, ari = make_ctx({"102": Phone("answer", after=0.05)}, Services(router=NoRoute()))
    await hunt.run(group(MOBILE, "102"), ctx)
    assert [t for t, _ in ari.rang] == ["102"]
    assert ("skipped", MOBILE, "unavailable") in steps(ctx, "skipped")
