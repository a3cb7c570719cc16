"""The calls of personal voicemail, as the dialplan hands them to the service:

    Stasis(ivr,voicemail,EXT,DIALSTATUS)   an internal call EXT did not take: leave a message
    Stasis(ivr,mailbox,listen,EXT)         *97 from EXT's phone: new messages, then old ones;
                                           5 repeats, 7 deletes, 9 (or nothing) keeps and goes on
    Stasis(ivr,mailbox,greeting,EXT)       *98 from EXT's phone: record the greeting after the beep
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ivr.ari.bus import Subscription
from ivr.ari.client import AriError
from ivr.ari.events import StasisStart
from ivr.calls.message import record_message
from ivr.calls.prompt import PromptOptions
from ivr.calls.session import CallEnded, CallSession
from ivr.errors import IvrError
from ivr.voicemail.boxes import VoicemailBoxes, VoiceMessage

if TYPE_CHECKING:
    from ivr.service import IvrService

log = logging.getLogger(__name__)

MAX_SECONDS = 120.0
GREETING_SECONDS = 30.0
OPTIONS = PromptOptions(("vm-repeat", "vm-delete", "vm-savemessage"), first_digit_timeout=3.0,
                        valid=frozenset("579"))


def _session(service: IvrService, event: StasisStart, sub: Subscription) -> CallSession:
    plan = service.plans.current.plan if service.plans.current else None
    return CallSession(service.ari, service.bus, sub, event.channel.id, plan.language if plan else "en",
                       service.catalog.resolve, service.clock.now)


def leave_handler(service: IvrService, boxes: VoicemailBoxes):
    async def leave(event: StasisStart, sub: Subscription) -> None:
        box = event.args[1] if len(event.args) > 1 else ""
        call = _session(service, event, sub)
        try:
            boxes.owner(box)
            await call.answer()
            await call.play(boxes.greeting(box))
            message = await record_message(call, boxes.new_recording(box), MAX_SECONDS)
            # Shielded: the caller's hang-up ends this task soon after, the message must be kept.
            await asyncio.shield(boxes.keep(box, message, event.channel.caller_number, event.channel.caller_name))
        except (CallEnded, AriError):
            pass                                            # hung up before the beep: nothing to keep
        except IvrError as e:
            log.warning("voicemail not left box=%s error=%s", box, e.message)
        finally:
            await call.hangup()
    return leave


def mailbox_handler(service: IvrService, boxes: VoicemailBoxes):
    async def mailbox(event: StasisStart, sub: Subscription) -> None:
        action = event.args[1] if len(event.args) > 1 else ""
        box = event.args[2] if len(event.args) > 2 else event.channel.caller_number
        call = _session(service, event, sub)
        try:
            boxes.owner(box)
            await call.answer()
            await call.play(["silence/1"])
            if action == "greeting":
                await call.play(["vm-rec-unv"])
                await record_message(call, boxes.greeting_name(box), GREETING_SECONDS)
                await call.play(["vm-msgsaved", "vm-goodbye"])
            else:
                await listen(call, boxes, box)
        except (CallEnded, AriError):
            pass
        except IvrError as e:
            log.warning("mailbox refused box=%s action=%s error=%s", box, action, e.message)
            await _quietly_say(call, "vm-nobox")
        finally:
            await call.hangup()
    return mailbox


async def listen(call: CallSession, boxes: VoicemailBoxes, box: str) -> None:
    messages = await boxes.messages(box)
    new = sum(m.new for m in messages)
    await call.play(["vm-youhave", f"digits:{new}", "vm-INBOX", "vm-messages",
                     "vm-and", f"digits:{len(messages) - new}", "vm-Old", "vm-messages"])
    for message in messages:
        await _one(call, boxes, message)
    await call.play(["vm-nomore", "vm-goodbye"])


async def _one(call: CallSession, boxes: VoicemailBoxes, message: VoiceMessage) -> None:
    """Play one message and act on the digit: 5 again, 7 delete, 9 or nothing keep."""
    while True:
        await call.play(["recording:" + message.recording], interruptible=True)
        if message.new:
            await boxes.heard(message.box, message.id)
        choice = await call.prompt(OPTIONS)
        if choice.digits == "5":
            continue
        if choice.digits == "7":
            await boxes.delete(message.box, message.id)
            await call.play(["vm-deleted"])
        else:
            await call.play(["vm-saved"])
        return


async def _quietly_say(call: CallSession, prompt: str) -> None:
    try:
        await call.play([prompt])
    except (CallEnded, AriError):
        pass
