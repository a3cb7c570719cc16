"""Dialling an outside number with failover (ivr.calls.outbound_leg) against a fake ARI whose
trunks answer as scripted: 503 (cause 34), no response (18), busy (17), not reachable (480 -> 19),
or the callee answers (StasisStart of the originated leg)."""
from __future__ import annotations

import asyncio
import itertools

import pytest

from ivr.ari.bus import EventBus
from ivr.ari.events import ChannelDestroyed, ChannelHangupRequest, ChannelInfo, Dial, StasisEnd, StasisStart
from ivr.calls import outbound_leg
from ivr.calls.outbound_leg import GONE, LegWatch, Verdict, dial_number, dialled_number
from ivr.errors import IvrError
from ivr.routing.router import trunk_of_endpoint
from ivr.testing import fake_ari as testing

NUMBER = "+79261234567"
TRUNKS = ("megafon", "tele2", "default")


def info(channel_id: str, state: str = "Ring") -> ChannelInfo:
    return ChannelInfo(channel_id, "PJSIP/x", state, "", "", "", "", "")


class FakeAri(testing.FakeAri):
    """Originate publishes what the scripted trunk does; `answers[trunk]` is a cause or "answer"."""

    def __init__(self, bus: EventBus, answers: dict[str, int | str]):
        super().__init__(bus)
        self.answers = answers

    @property
    def originated(self) -> list[tuple[str, str, dict]]:        # (endpoint, channel id, variables)
        return [(endpoint, channel_id, variables) for endpoint, channel_id, _, _, variables in self.did("originate")]

    @property
    def hung_up(self) -> list[str]:
        return [channel_id for channel_id, _ in self.did("hangup")]

    async def originate(self, endpoint: str, channel_id: str, app_args: str, caller_id: str = "",
                        timeout: int = 30, variables: dict | None = None) -> ChannelInfo:
        await super().originate(endpoint, channel_id, app_args, caller_id, timeout, variables)
        loop = asyncio.get_running_loop()
        answer = self.answers.get(trunk_of_endpoint(endpoint) or "", "ignore")
        if answer == "answer":
            loop.call_later(0.01, self.bus.publish, StasisStart("StasisStart", info(channel_id, "Up"), (app_args,)))
        elif isinstance(answer, int):
            status = "BUSY" if answer == 17 else "CONGESTION"
            loop.call_later(0.01, self.bus.publish, Dial("Dial", channel_id, "", status))
            loop.call_later(0.02, self.bus.publish, ChannelHangupRequest("ChannelHangupRequest", info(channel_id), 0))
            loop.call_later(0.03, self.bus.publish, ChannelDestroyed("ChannelDestroyed", info(channel_id), answer, ""))
        return info(channel_id, "Down")



def router_like(trunks: tuple[str, ...] = TRUNKS):
    """The router's endpoint_for: the cheapest trunk not yet tried, else IvrError (NoTrunk)."""
    def endpoint_for(number: str, exclude: tuple[str, ...] = ()) -> str:
        left = [t for t in trunks if t not in exclude]
        if not left:
            raise IvrError(f"no trunk may carry a call to {number} now")
        return f"PJSIP/{number}@trunk-{left[0]}"
    return endpoint_for


async def dial(answers: dict[str, int | str], endpoint_for=None, watch=(), ring_seconds: int = 1):
    bus = EventBus()
    ari = FakeAri(bus, answers)
    ids = itertools.count(1)
    started: list[str] = []
    with bus.subscribe("staff") as sub:
        reached = await dial_number(ari, sub, NUMBER, endpoint_for or router_like(), lambda: f"leg{next(ids)}",
                                    ring_seconds=ring_seconds, watch=watch, on_leg=started.append)
    return reached, ari, started, bus


async def test_a_503_trunk_is_skipped_within_the_same_call():
    reached, ari, started, _ = await dial({"megafon": 34, "tele2": "answer"})
    assert (reached.result, reached.channel_id, reached.trunks) == ("answered", "leg2", ("megafon", "tele2"))
    assert reached.failed == (("megafon", 34),)
    assert [e for e, _, _ in ari.originated] == [f"PJSIP/{NUMBER}@trunk-megafon", f"PJSIP/{NUMBER}@trunk-tele2"]
    # every attempt carries the number for the trunk report; the refused leg is hung up, the answered one not
    assert all(v == {"CDR(userfield)": NUMBER} for _, _, v in ari.originated)
    assert started == ["leg1", "leg2"] and ari.hung_up == ["leg1"]


async def test_no_response_fails_over_too():
    reached, _, _, _ = await dial({"megafon": 18, "tele2": 34, "default": "answer"})
    assert (reached.result, reached.trunks) == ("answered", TRUNKS)
    assert reached.failed == (("megafon", 18), ("tele2", 34))


@pytest.mark.parametrize("cause,result", [(17, "busy"), (19, "no_answer"), (1, "unavailable"), (21, "declined")])
async def test_the_callees_own_answer_is_final(cause, result):
    reached, ari, _, _ = await dial({"megafon": cause, "tele2": "answer"})
    assert (reached.result, reached.trunks, reached.failed) == (result, ("megafon",), ())
    assert len(ari.originated) == 1


async def test_every_trunk_failing_ends_as_congestion():
    reached, ari, _, _ = await dial({t: 34 for t in TRUNKS})
    assert (reached.result, reached.trunks, len(ari.originated)) == ("congestion", TRUNKS, 3)


async def test_without_a_router_the_same_trunk_is_not_tried_twice():
    reached, ari, _, _ = await dial({"default": 34}, endpoint_for=lambda number, tried: f"PJSIP/{number}@trunk-default")
    assert (reached.result, len(ari.originated)) == ("congestion", 1)


async def test_no_trunk_at_all_is_unavailable():
    reached, ari, _, _ = await dial({}, endpoint_for=router_like(()))
    assert (reached.result, reached.channel_id, ari.originated) == ("unavailable", "", [])


async def test_the_watched_channel_leaving_stops_the_ringing_leg():
    bus = EventBus()
    ari = FakeAri(bus, {})                            # megafon just rings
    asyncio.get_running_loop().call_later(0.05, bus.publish, StasisEnd("StasisEnd", info("staff")))
    with bus.subscribe("staff") as sub:
        reached = await dial_number(ari, sub, NUMBER, router_like(), lambda: "leg1", ring_seconds=5,
                                    watch=("staff",))
    assert (reached.result, reached.channel_id) == (GONE, "leg1")
    assert ari.hung_up == ["leg1"]


async def test_a_leg_that_rings_out_is_no_answer(monkeypatch):
    monkeypatch.setattr(outbound_leg, "GRACE_SECONDS", 0.1)
    reached, ari, _, _ = await dial({}, ring_seconds=0)
    assert (reached.result, ari.hung_up) == ("no_answer", ["leg1"])


@pytest.mark.parametrize("events,verdict", [
    ([Dial("Dial", "a", "", "CONGESTION"), ChannelDestroyed("ChannelDestroyed", info("a"), 34, "")],
     Verdict("trunk_failed", cause=34)),
    ([Dial("Dial", "a", "", "CHANUNAVAIL"), ChannelDestroyed("ChannelDestroyed", info("a"), 17, "")],
     Verdict("ended", "busy", 17)),
    ([Dial("Dial", "a", "", "BUSY")], Verdict("ended", "busy")),
    ([Dial("Dial", "a", "", "NOANSWER")], Verdict("ended", "no_answer")),
    ([ChannelHangupRequest("ChannelHangupRequest", info("a"), 0),
      ChannelDestroyed("ChannelDestroyed", info("a"), 18, "")], Verdict("trunk_failed", cause=18)),
    ([ChannelHangupRequest("ChannelHangupRequest", info("a"), 19)], Verdict("ended", "no_answer", 19)),
    ([Dial("Dial", "other", "", "BUSY"), StasisStart("StasisStart", info("a", "Up"), ("leg",))], Verdict("answered")),
])
def test_leg_watch_reads_a_legs_events(events, verdict):
    watch = LegWatch("a")
    verdicts = [watch.verdict(e) for e in events]
    assert verdicts[:-1] == [None] * (len(events) - 1)
    assert verdicts[-1] == verdict


def test_dialled_number():
    assert dialled_number(f"PJSIP/{NUMBER}@trunk-mts") == NUMBER


async def test_each_trunk_tried_gets_the_caller_id_as_it_wants_it():
    bus = EventBus()
    ari = FakeAri(bus, {"megafon": 34, "tele2": "answer"})
    ids = itertools.count(1)
    with bus.subscribe("staff") as sub:
        reached = await dial_number(ari, sub, NUMBER, router_like(), lambda: f"leg{next(ids)}", ring_seconds=1,
                                    caller_id="+74951110000",
                                    caller_id_on=lambda trunk, cid: f"{trunk}:{cid}")
    assert reached.result == "answered"
    assert [args[3] for args in ari.did("originate")] == ["megafon:+74951110000", "tele2:+74951110000"]
