"""Wiring do-not-disturb into the service: the state, loaded at start, and the phones' feature
codes (*78 on, *79 off; the dialplan sends them to Stasis(ivr,staff,dnd_on|dnd_off,EXT))."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ivr.ari.bus import Subscription
from ivr.ari.client import AriError
from ivr.ari.events import StasisStart
from ivr.calls.feature import say_and_hang_up
from ivr.errors import IvrError
from ivr.staff.dnd import DoNotDisturb

if TYPE_CHECKING:
    from ivr.service import IvrService

log = logging.getLogger(__name__)

# What the phone hears after the code: its new state.
PROMPTS = {"dnd_on": "dnd-on", "dnd_off": "dnd-off"}


def device(extension: str) -> str:
    """The device state Asterisk's hint for the extension combines with the phone's own (BLF lamps,
    presence), and the dialplan reads to send an internal call to a DND phone's voicemail."""
    return f"Stasis:dnd-{extension}"


def for_service(service: IvrService) -> DoNotDisturb:
    """The service's DoNotDisturb; each change is shown as the phone's device state."""
    async def show(extension: str, dnd: bool) -> None:
        try:
            await service.ari.set_device_state(device(extension), "BUSY" if dnd else "NOT_INUSE")
        except IvrError as e:             # not connected: shown again at the next connect
            log.warning("do-not-disturb lamp not shown ext=%s error=%s", extension, e.message)
    return DoNotDisturb(service.db, service.clock.now,
                        lambda: service.plans.current.plan if service.plans.current else None, show)


def feature_handler(service: IvrService, dnd: DoNotDisturb):
    """The "staff" Stasis handler: Stasis(ivr,staff,dnd_on|dnd_off,EXT)."""
    async def feature(event: StasisStart, sub: Subscription) -> None:
        action = event.args[1] if len(event.args) > 1 else ""
        ext = event.args[2] if len(event.args) > 2 else event.channel.caller_number
        try:
            await service.ari.answer(event.channel.id)
        except AriError:
            return                            # the phone hung up at once
        prompt = "beeperr"
        if action in PROMPTS:
            try:
                await dnd.set(ext, action == "dnd_on", by=f"phone {ext}")
                prompt = PROMPTS[action]
            except IvrError as e:
                log.warning("feature code refused ext=%s action=%s error=%s", ext, action, e.message)
        await say_and_hang_up(service, event.channel.id, sub, prompt)

    return feature
