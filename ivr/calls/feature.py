"""The end of a feature code a staff phone dialled (*45 queue login, *78 do-not-disturb, ...): the
phone hears its new state and is hung up."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.ari.bus import Subscription
from ivr.ari.client import AriError
from ivr.ari.events import ChannelDestroyed, StasisEnd
from ivr.calls.legs import hangup_quietly, play_until_finished

if TYPE_CHECKING:
    from ivr.service import IvrService

PAUSE = "silence/1"


async def say_and_hang_up(service: IvrService, channel: str, sub: Subscription, prompt: str) -> None:
    """Play `prompt` in the plan's language on the answered `channel`, then hang it up."""
    try:
        plan = service.plans.current.plan if service.plans.current else None
        language = plan.language if plan else "en"
        # A second of silence first (the phone has only just been lifted to the ear) and after
        # (the last syllable must reach the phone before the hang-up).
        media = ["sound:" + path for name in (PAUSE, prompt, PAUSE)
                 if (path := service.catalog.resolve(name, language) or service.catalog.resolve(name, "en"))]
        if media:
            await play_until_finished(service.ari, sub, channel, media, f"{channel}-feature", 10,
                                      stop=lambda got: isinstance(got, (StasisEnd, ChannelDestroyed)))
    except AriError:
        pass                                  # the phone hung up: the state is changed all the same
    finally:
        await hangup_quietly(service.ari, channel)
