"""What a finished call means for the missed-call list (pure), and the call-back guard."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from ivr.ari.bus import EventBus
from ivr.ari.events import ChannelDestroyed, ChannelInfo
from ivr.missed.callback import CallbackJob, Callbacks
from ivr.missed.errors import MissedConflict
from ivr.missed.service import classify, rung_extensions, voicemail_recording
from ivr.missed.store import MissedItem
from ivr.store.calls import CallRecord, CallStep
from ivr.testing.fake_ari import FakeAri

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def record(outcome: str, seconds: float = 20, direction: str = "inbound", caller: str = "+79161000001",
           answered_after: float | None = None, steps: tuple[tuple[float, str, str, dict], ...] = ()) -> CallRecord:
    return CallRecord(id=1, channel_id="c", direction=direction, caller=caller, company_number="+74951110000",
                      source="", contact_name="", plan_version=1, language="ru", started_at=T0,
                      answered_at=None if answered_after is None else T0 + timedelta(seconds=answered_after),
                      ended_at=T0 + timedelta(seconds=seconds), outcome=outcome, answered_by="101",
                      duration=seconds,
                      steps=tuple(CallStep(i + 1, T0 + timedelta(seconds=o), n, k, d)
                                  for i, (o, n, k, d) in enumerate(steps)))


GREETING = ((0.0, "main", "enter", {"node_kind": "schedule"}), (0.5, "greeting", "enter", {"node_kind": "play"}))


@pytest.mark.parametrize("outcome", ["hung_up_in_greeting", "abandoned_in_menu", "abandoned_while_ringing",
                                     "abandoned_in_queue", "closed_hours", "holiday", "voicemail", "no_answer",
                                     "menu_no_choice", "callback_requested"])
def test_missed_outcomes(outcome):
    verdict = classify(record(outcome, steps=GREETING), 3, 10)
    assert (verdict.kind, verdict.reason, verdict.node, verdict.short) == ("missed", outcome, "greeting", False)


def test_not_missed_and_withheld():
    assert classify(record("ended_by_plan"), 3, 10).kind == "not_missed"
    assert classify(record("unknown_number"), 3, 10).kind == "not_missed"
    assert classify(record("no_answer", caller=""), 3, 10).kind == "withheld"
    assert classify(record("no_answer", caller="anonymous"), 3, 10).kind == "withheld"


def test_short_is_measured_from_the_greeting():
    assert classify(record("hung_up_in_greeting", seconds=3.4, steps=GREETING), 3, 10).short      # 2.9 s
    assert not classify(record("hung_up_in_greeting", seconds=3.6, steps=GREETING), 3, 10).short  # 3.1 s
    assert not classify(record("voicemail", seconds=1, steps=GREETING), 3, 10).short


def test_answered_calls_reach_the_customer():
    assert (classify(record("answered", answered_after=5), 3, 10).reason) == "customer_called_again"
    out = classify(record("answered", seconds=16, direction="outbound", answered_after=5), 3, 10)
    assert (out.kind, out.reason, out.by) == ("reached", "called_back", "101")
    assert classify(record("answered", seconds=14, direction="outbound", answered_after=5), 3, 10).kind == "attempt"
    busy = classify(record("busy", seconds=4, direction="outbound"), 3, 10)
    assert (busy.kind, busy.reason) == ("attempt", "busy")


def test_rung_staff_and_voicemail_name_come_from_the_steps():
    call = record("voicemail", steps=((1, "booking", "ring", {"member": "101"}), (3, "booking", "ring", {"member": "101"}),
                                      (5, "booking", "ring", {"member": "+79990000000"}),
                                      (9, "vm", "voicemail_left", {"recording": "voicemail/c"})))
    assert rung_extensions(call, {"101", "102"}) == ("101",)
    assert voicemail_recording(call) == "voicemail/c"
    assert voicemail_recording(record("no_answer")) == ""


async def test_never_two_call_backs_to_one_customer():
    item = MissedItem(id=5, customer="+79161000001", company_number="+74951110000", source="", contact_name="",
                      status="open", count=1, short=False, reason="no_answer", node="", first_at=T0, last_at=T0,
                      voicemail="", taken_by="", taken_at=None, closed_by="", closed_at=None, close_reason="",
                      callback_seconds=None)
    ari = FakeAri()
    callbacks = Callbacks(ari, EventBus(), lambda: T0)  # type: ignore[arg-type]
    ended: list[CallbackJob] = []

    async def on_end(job: CallbackJob) -> None:
        ended.append(job)

    await callbacks.ring_staff(CallbackJob(item, "101", "cb-1", 1, "PJSIP/x@trunk-default"), on_end)
    with pytest.raises(MissedConflict, match="already running"):
        await callbacks.ring_staff(CallbackJob(item, "102", "cb-2", 2, "PJSIP/x@trunk-default"), on_end)
    assert [args[:2] for args in ari.did("originate")] == [("PJSIP/101", "cb-1")]
    assert callbacks.busy(item.customer)
    # The staff phone was not answered: the guard is lifted and the job ends as such.
    callbacks.bus.publish(ChannelDestroyed("ChannelDestroyed", ChannelInfo("cb-1", "", "", "", "", "", "", ""), 19,
                                           "No answer"))
    for _ in range(20):
        if ended:
            break
        await asyncio.sleep(0.01)
    assert [(j.channel_id, j.outcome) for j in ended] == [("cb-1", "staff_no_answer")]
    assert not callbacks.busy(item.customer)
