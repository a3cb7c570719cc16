"""A staff phone's outbound call reported by the dialplan's AGI (StaffCall): stored as an outbound
call record and reviewed, so a long enough answer closes the customer's item and anything else is
logged on it; a repeated report is recognised by its channel."""
from __future__ import annotations

from datetime import timedelta

import pytest

from ivr.errors import InvalidInput
from ivr.missed.service import StaffCall
from test_missed_service import ANNA, BORIS, MAIN, T0, finished_call  # noqa: F401 (fixtures below)
from test_missed_service import clock, config, plan, service  # noqa: F401


def staff_call(number: str, status: str, talk: float, channel: str, dialled: float = 20) -> StaffCall:
    return StaffCall(phone="101", number=number, status=status, answered_seconds=talk, dialled_seconds=dialled,
                     channel_id=channel, trunk="default")


async def test_busy_is_logged_then_a_12_s_answer_closes_the_item(db, service, clock):
    await service.call_finished(await finished_call(db, ANNA, MAIN, "no_answer", T0))
    clock.at = T0 + timedelta(minutes=5)
    busy_id = await service.staff_call_ended(staff_call(ANNA, "BUSY", 0, "pbx-1.1", dialled=3))
    (item,) = await service.store.list(status="pending")
    assert [(e.kind, e.by, e.data["result"]) for e in item.events if e.kind == "callback"] == [
        ("callback", "101", "busy")]
    busy = await service.calls.get(busy_id)
    assert (busy.direction, busy.caller, busy.outcome, busy.answered_at) == ("outbound", ANNA, "busy", None)

    clock.at = T0 + timedelta(minutes=7)
    call_id = await service.staff_call_ended(staff_call(ANNA, "ANSWER", 12, "pbx-1.2"))
    call = await service.calls.get(call_id)
    assert call.answered_at == clock.at - timedelta(seconds=12) and call.started_at == clock.at - timedelta(seconds=20)
    (closed,) = await service.store.list(status="closed")
    assert (closed.id, closed.close_reason, closed.closed_by) == (item.id, "called_back", "101")
    assert closed.callback_seconds == 420.0


async def test_short_answer_does_not_close_and_a_repeated_report_is_one_call(db, service, clock):
    await service.call_finished(await finished_call(db, BORIS, MAIN, "no_answer", T0))
    clock.at = T0 + timedelta(minutes=1)
    first = await service.staff_call_ended(staff_call(BORIS, "ANSWER", 4, "pbx-2.1"))
    again = await service.staff_call_ended(staff_call(BORIS, "ANSWER", 4, "pbx-2.1"))
    assert first == again
    (item,) = await service.store.list(status="pending")
    assert [e.data["result"] for e in item.events if e.kind == "callback"] == ["short_4s"]


@pytest.mark.parametrize("number,talk,dialled", [("89161234567", 0, 5), (ANNA, 8, 5), (ANNA, -1, 5)])
async def test_bad_reports_are_refused(service, number, talk, dialled):
    with pytest.raises(InvalidInput):
        await service.staff_call_ended(staff_call(number, "ANSWER", talk, "pbx-3", dialled=dialled))
