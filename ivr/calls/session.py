"""A call as the flows see it: play, prompt, ring, bridge, hang up — ids and names, never URLs.

Every event of the call (its channel, its playbacks) arrives on one subscription that the
supervisor opened before the call's task started, so nothing is missed. Digits pressed while no
prompt is listening are kept (type-ahead): a caller who presses 1 during the greeting gets option 1.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime

from ivr.ari.bus import EventBus, Subscription
from ivr.ari.client import AriClient, ChannelGone
from ivr.ari.events import ChannelDestroyed, ChannelDtmfReceived, ChannelHangupRequest, Event, StasisEnd
from ivr.calls.legs import finished, quietly
from ivr.calls.prompt import PromptOptions, PromptResult
from ivr.errors import IvrError

log = logging.getLogger(__name__)


class CallEnded(IvrError):
    """The caller hung up (or the channel went away) while the flow was waiting on it."""

    error_id = "call-ended"


class Resync(Event):
    """Published to every live call after the ARI connection came back: events may have been lost."""


class NodeLost(Event):
    """Published to every live call when the node carrying it stays unreachable: the call is gone."""


# The outcome of a call its node died under (a missed-call reason: the caller is called back).
NODE_LOST = "node_lost"


class CallSession:
    def __init__(self, ari: AriClient, bus: EventBus, sub: Subscription, channel_id: str, language: str,
                 resolve: Callable[[str, str], str | None], clock: Callable[[], datetime]):
        self.ari = ari
        self.bus = bus
        self.sub = sub
        self.channel_id = channel_id
        self.language = language
        self._resolve = resolve
        self.clock = clock
        self.digits: deque[str] = deque()
        self.ended = False
        self.node_lost = False
        self._ids = itertools.count(1)

    def new_id(self, what: str) -> str:
        return f"{self.channel_id}-{what}{next(self._ids)}"

    def media(self, names: tuple[str, ...] | list[str]) -> list[str]:
        uris = []
        for name in names:
            if ":" in name:                       # already a media URI (tone:ring, digits:12, ...)
                uris.append(name)
                continue
            path = self._resolve(name, self.language)
            if path is None:
                # The plan was validated, so this is a prompt deleted since: say so, skip it.
                log.error("prompt missing at runtime name=%s lang=%s call=%s", name, self.language,
                          self.channel_id)
                continue
            uris.append("sound:" + path)
        return uris

    # ----- events -----

    async def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event of this call, None on timeout; raises CallEnded when the caller is gone."""
        try:
            event = await self.sub.get(timeout)
        except asyncio.TimeoutError:
            return None
        if isinstance(event, ChannelDtmfReceived) and event.channel.id == self.channel_id:
            self.digits.append(event.digit)
        elif isinstance(event, (StasisEnd, ChannelDestroyed, ChannelHangupRequest)) \
                and event.channel.id == self.channel_id:
            self.ended = True
            raise CallEnded(f"caller left ({event.type})")
        elif isinstance(event, NodeLost):
            self.ended = self.node_lost = True
            raise CallEnded("the node carrying the call is lost")
        return event

    # ----- media -----

    async def answer(self) -> None:
        await self.ari.answer(self.channel_id)

    async def play(self, prompts: tuple[str, ...] | list[str], interruptible: bool = False) -> bool:
        """Play prompts to the end. With `interruptible`, a digit (kept for the next prompt) stops
        them; returns True when a digit did."""
        media = self.media(prompts)
        if not media:
            return False
        if interruptible and self.digits:
            return True
        playback_id = self.new_id("pb")
        self.sub.add_key(playback_id)
        await self.ari.play(self.channel_id, media, playback_id)
        while True:
            event = await self.next_event(timeout=30.0)
            if event is None or isinstance(event, Resync):
                if not await self.ari.playback_exists(playback_id):
                    return False
                continue
            if finished(event, playback_id):
                return False
            if interruptible and isinstance(event, ChannelDtmfReceived):
                await self._stop_playback(playback_id)
                return True

    async def _stop_playback(self, playback_id: str) -> None:
        await quietly(self.ari.stop_playback(playback_id), "stop playback")      # it may have just finished

    async def prompt(self, options: PromptOptions) -> PromptResult:
        """Play the prompts and collect up to `max_digits` digits."""
        await self.play(options.prompts, interruptible=options.interruptible)
        entered = ""
        timeout = options.first_digit_timeout
        while len(entered) < options.max_digits:
            if not self.digits:
                deadline = asyncio.get_running_loop().time() + timeout
                while not self.digits:
                    left = deadline - asyncio.get_running_loop().time()
                    if left <= 0:
                        break
                    await self.next_event(timeout=left)
                if not self.digits:
                    break
            digit = self.digits.popleft()
            if digit == options.terminator and options.max_digits > 1:
                break
            entered += digit
            timeout = options.inter_digit_timeout
        if not entered:
            return PromptResult("timeout")
        if options.valid is not None and entered not in options.valid:
            return PromptResult("invalid", entered)
        return PromptResult("ok", entered)

    async def hangup(self) -> None:
        if self.ended:
            return
        try:
            await self.ari.hangup(self.channel_id)
        except ChannelGone:
            pass
        self.ended = True
