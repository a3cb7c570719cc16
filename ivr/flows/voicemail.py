"""Voicemail: greeting, beep, record until # / silence / the limit (ivr.calls.message). A message the
caller hung up on midway is kept: Asterisk closes the file and the recording is still stored.
With `box:`, the node is a staff member's personal box: the owner's greeting, the message in their
box (lamp and mail: ivr.voicemail.boxes)."""
from __future__ import annotations

import asyncio

from ivr.calls.message import record_message
from ivr.calls.session import CallEnded
from ivr.flows.context import FlowContext
from ivr.plan.model import VoicemailNode


async def run(node: VoicemailNode, ctx: FlowContext) -> str | None:
    call = ctx.call
    boxes = ctx.services.voicemail if node.box else None
    await call.play(boxes.greeting(node.box) if boxes else node.prompts)
    name = boxes.new_recording(node.box) if boxes else f"voicemail/{call.channel_id}"
    ctx.journal.outcome = "voicemail"
    ctx.journal.step("voicemail_started", recording=name, **({"box": node.box} if boxes else {}))
    message = await record_message(call, name, node.max_seconds)
    if boxes is not None:
        # Shielded: after a hang-up the call's task is cancelled soon, the message must be kept.
        await asyncio.shield(boxes.keep(node.box, message, ctx.caller, ctx.caller_name))
    if message.state == "hung_up":
        ctx.journal.step("voicemail_left", recording=name, caller_hung_up=True)
        raise CallEnded("caller left during the voicemail")
    ctx.journal.step("voicemail_left", recording=name, seconds=message.seconds, state=message.state)
    return node.then
