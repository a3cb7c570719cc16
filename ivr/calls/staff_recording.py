"""Recording a staff phone's outside call (`record: yes` on the phone in the plan): the file and
MixMonitor's arguments the staff dialplan starts on the callee's channel, the customer's side, so
left is the customer as in inbound calls. The AGI gets them with its route (GET /api/route)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.calls.recording import Recorder, Started
from ivr.plan.model import Plan


class StaffRecording:
    def __init__(self, recorder: Recorder | None, plan: Callable[[], Plan | None], now: Callable[[], datetime]):
        self.recorder, self.plan, self.now = recorder, plan, now

    async def for_call(self, phone: str, channel: str) -> dict[str, str] | None:
        """{"name", "arguments"} when `phone`'s outside calls are recorded (and the disk has room)."""
        plan = self.plan()
        staff = plan.staff.get(phone) if plan else None
        if staff is None or not staff.record or not channel or self.recorder is None:
            return None
        started = self.now().astimezone(ZoneInfo(plan.timezone))
        prepared = await self.recorder.prepare(channel, started, plan.recording.stereo)
        if not isinstance(prepared, Started):
            return None
        return {"name": prepared.name, "arguments": prepared.arguments}
