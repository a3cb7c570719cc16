"""Record what a caller says after a beep (a voicemail, a greeting): until # / silence / the limit.
A caller who hangs up ends the message; Asterisk closes the file and it is kept."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ivr.ari.events import RecordingEvent
from ivr.calls.session import CallEnded, CallSession

MAX_SILENCE_SECONDS = 5
FINISH_WAIT = 1.5          # after a hang-up: how long Asterisk may take to report the file closed


@dataclass(frozen=True)
class Message:
    name: str              # the recording's name (Asterisk's recording directory, no extension)
    seconds: float
    state: str             # done, failed, or hung_up (the caller ended the message by hanging up)


async def record_message(call: CallSession, name: str, max_seconds: float) -> Message:
    """Record `name` (WAV) on the call; returns when the message is complete. Raises CallEnded
    only when the caller hung up before the recording started."""
    call.sub.add_key("recording:" + name)
    await call.ari.record(call.channel_id, name, "wav", max_seconds=int(max_seconds),
                          max_silence=MAX_SILENCE_SECONDS, beep=True, terminate_on="#")
    try:
        while True:
            event = await call.next_event()
            if _finished(event, name):
                return Message(name, event.duration, "done" if event.type == "RecordingFinished" else "failed")
    except CallEnded:
        return Message(name, await _finished_after_hang_up(call, name), "hung_up")


def _finished(event: object, name: str) -> bool:
    return isinstance(event, RecordingEvent) and event.name == name \
        and event.type in ("RecordingFinished", "RecordingFailed")


async def _finished_after_hang_up(call: CallSession, name: str) -> float:
    """The message's length from Asterisk's last word on it (0.0 when none came in time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FINISH_WAIT
    while (left := deadline - loop.time()) > 0:
        try:
            event = await call.sub.get(left)
        except asyncio.TimeoutError:
            break
        if _finished(event, name):
            return event.duration
    return 0.0
