"""Recording a conversation the plan marks with `record: yes` (a company number from the answer, a
hunt, forward or queue node from there on): the consent prompt, then Asterisk records the customer's
channel to the end of the call (ivr.calls.recording). Once per call; a call the service picks up
again after a restart keeps the file it had (a channel variable says so)."""
from __future__ import annotations

from ivr.ari.client import AriError
from ivr.calls.recording import VARIABLE, Started, record_call
from ivr.flows.context import FlowContext


async def record_conversation(ctx: FlowContext, why: str) -> None:
    recorder = ctx.services.recorder
    if recorder is None or ctx.recording:
        return
    call, stereo = ctx.call, ctx.plan.recording.stereo
    try:
        earlier = await call.ari.get_var(call.channel_id, VARIABLE)
    except AriError:                                # unset (404) or the caller left: nothing running
        earlier = ""
    if earlier:
        ctx.recording = earlier
        ctx.journal.step("recording", file=earlier, why=why, stereo=stereo, resumed=True)
        return
    ctx.recording = "pending"
    result = await record_call(call, recorder, ctx.plan, ctx.now())
    if isinstance(result, Started):
        ctx.recording = result.name
        ctx.journal.step("recording", file=result.name, why=why, stereo=stereo)
    else:
        ctx.recording = result.reason
        ctx.journal.step("recording_skipped", why=why, reason=result.reason,
                         **({"detail": result.detail} if result.detail else {}))
