"""Channels one call hands to another: the consulted phone of an attended transfer.

A phone's attended transfer names its consultation call (an internal call the dialplan bridged, not
the service). The customer's call claims the consulted phone's channel here, then hangs up the
consulting side; the dialplan (`Dial` option F) sends the consulted phone to
Stasis(ivr,handover), where its StasisStart reaches the claiming call through the bus. A channel
nobody claimed is the end of an ordinary internal call: it is hung up.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from ivr.ari.bus import Subscription
from ivr.ari.client import AriClient
from ivr.ari.events import StasisStart
from ivr.calls.journal import CallJournal
from ivr.calls.legs import hangup_quietly

HANDOVER_ARGS = "handover"
# Set on every staff leg before it is dialled, so its REFERs come to the service (ivr.flows.transfer);
# ARI sets a dialplan function like a variable.
ARI_HANDLING = {"PJSIP_TRANSFER_HANDLING()": "ari-only"}
# A call-back's bridged conversation kept by the service under the transfer rules (IvrService.keep_talking):
# (its subscription, customer leg, customer number, bridge, staff extension, staff leg, language) -> its steps
KeepTalking = Callable[[Subscription, str, str, str, str, str, str], Awaitable[CallJournal]]


class Handovers:
    """Claims on channels still to arrive. The handler consumes a claim when its channel arrives;
    the claiming call drops it only when the channel never came. Both read the same StasisStart, and
    the claiming call may read it first: had it dropped the claim then, the handler would hang up
    the phone it just took over."""

    def __init__(self) -> None:
        self._claimed: set[str] = set()

    def claim(self, channel_id: str) -> None:
        self._claimed.add(channel_id)

    def give_up(self, channel_id: str) -> None:
        """The claimed channel did not arrive in time (or ended first): arriving later, it is hung up."""
        self._claimed.discard(channel_id)

    def take(self, channel_id: str) -> bool:
        """The channel arrived: True (once) when a call claimed it."""
        if channel_id in self._claimed:
            self._claimed.remove(channel_id)
            return True
        return False

    def handler(self, ari: AriClient):
        """The "handover" Stasis handler."""
        async def arrived(event: StasisStart, sub: Subscription) -> None:
            if not self.take(event.channel.id):
                await hangup_quietly(ari, event.channel.id)

        return arrived
