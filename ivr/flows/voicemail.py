"""Voicemail: greeting, beep, record until # / silence / the limit. A message the caller hung up
on midway is kept: Asterisk closes the file and the recording is still stored."""
from __future__ import annotations

from ivr.ari.events import RecordingEvent
from ivr.calls.session import CallEnded
from ivr.flows.context import FlowContext
from ivr.plan.model import VoicemailNode

MAX_SILENCE_SECONDS = 5


async def run(node: VoicemailNode, ctx: FlowContext) -> str | None:
    call = ctx.call
    await call.play(node.prompts)
    name = f"voicemail/{call.channel_id}"
    call.sub.add_key("recording:" + name)
    ctx.journal.outcome = "voicemail"
    ctx.journal.step("voicemail_started", recording=name)
    await call.ari.record(call.channel_id, name, "wav", max_seconds=int(node.max_seconds),
                          max_silence=MAX_SILENCE_SECONDS, beep=True, terminate_on="#")
    try:
        while True:
            event = await call.next_event()
            if isinstance(event, RecordingEvent) and event.name == name \
                    and event.type in ("RecordingFinished", "RecordingFailed"):
                ctx.journal.step("voicemail_left", recording=name, seconds=event.duration,
                                 state=event.state)
                return node.then
    except CallEnded:
        ctx.journal.step("voicemail_left", recording=name, caller_hung_up=True)
        raise
