"""Recording a conversation the plan marks with `record: yes` (a company number from the answer, a
hunt, forward or queue node from there on): the consent prompt, then Asterisk records the customer's
channel to the end of the call (ivr.calls.recording). Once per call; a call the service picks up
again after a restart keeps the file it had (a channel variable says so)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from ivr.ari.client import AriError
from ivr.calls.recording import VARIABLE, Started
from ivr.flows.context import FlowContext
from ivr.plan.model import CONSENT_PROMPT


async def record_conversation(ctx: FlowContext, why: str) -> None:
    recorder = ctx.services.recorder
    if recorder is None or ctx.recording:
        return
    call, policy = ctx.call, ctx.plan.recording
    try:
        earlier = await call.ari.get_var(call.channel_id, VARIABLE)
    except AriError:                                # unset (404) or the caller left: nothing running
        earlier = ""
    if earlier:
        ctx.recording = earlier
        ctx.journal.step("recording", file=earlier, why=why, stereo=policy.stereo, resumed=True)
        return
    ctx.recording = "pending"
    if policy.consent:
        await call.play((CONSENT_PROMPT,))
    started = ctx.now().astimezone(ZoneInfo(ctx.plan.timezone)) if ctx.plan.timezone else ctx.now()
    result = await recorder.start(call.channel_id, started, policy.stereo)
    if isinstance(result, Started):
        ctx.recording = result.name
        await call.ari.set_var(call.channel_id, VARIABLE, result.name)
        ctx.journal.step("recording", file=result.name, why=why, stereo=policy.stereo)
    else:
        ctx.recording = result.reason
        ctx.journal.step("recording_skipped", why=why, reason=result.reason,
                         **({"detail": result.detail} if result.detail else {}))
