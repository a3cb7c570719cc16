"""Small pieces every leg the service places shares: an ARI operation whose failure only means its
object is already gone (a hang-up, a stop, a bridge destroyed), and playing media to its end."""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable

from ivr.ari.bus import Subscription
from ivr.ari.client import AriClient, AriError
from ivr.ari.events import Event, PlaybackEvent
from ivr.errors import ServiceUnavailable

log = logging.getLogger(__name__)


async def quietly(operation: Awaitable[object], what: str = "") -> bool:
    """Await an ARI clean-up whose 404 (or 500 while Asterisk tears the object down) only means
    it already happened; with Asterisk unreachable, its own restart cleans up. True when it ran."""
    try:
        await operation
        return True
    except AriError as e:
        log.debug("quiet %s failed: %s", what or "operation", e.message)
    except ServiceUnavailable as e:
        log.warning("quiet %s failed: %s", what or "operation", e.message)
    return False


def extension_of(channel_name: str) -> str:
    """The staff extension of a phone's channel name ("PJSIP/101-0000002a" -> "101")."""
    match = re.fullmatch(r"PJSIP/([^/@-]+)-[0-9a-f]+", channel_name)
    return match.group(1) if match else ""


async def hangup_quietly(ari: AriClient, channel_id: str) -> bool:
    return await quietly(ari.hangup(channel_id), f"hangup {channel_id}")


def finished(event: Event, playback_id: str) -> bool:
    """The event that ends a playback."""
    return isinstance(event, PlaybackEvent) and event.playback_id == playback_id \
        and event.type == "PlaybackFinished"


async def play_until_finished(ari: AriClient, sub: Subscription, channel_id: str, media: list[str],
                              playback_id: str, limit: float,
                              stop: Callable[[Event], bool] = lambda event: False) -> Event | None:
    """Subscribe, play, and wait for the end of the playback (at most `limit` seconds, which guards
    a lost PlaybackFinished). Returns the event `stop` chose (a party hung up) or None."""
    loop = asyncio.get_running_loop()
    sub.add_key(playback_id)
    await ari.play(channel_id, media, playback_id)
    deadline = loop.time() + limit
    while (left := deadline - loop.time()) > 0:
        try:
            event = await sub.get(timeout=left)
        except asyncio.TimeoutError:
            break
        if finished(event, playback_id):
            return None
        if stop(event):
            return event
    return None
