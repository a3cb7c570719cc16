"""A node taken over goes back to its own instance when that instance stands by for it again.

The taker watches the node's standby lock (`ivr-standby:NAME`, held by an instance of the node while
it waits for the node's lease). Once an instance holds it, the node is due to go back: at once when
the taker runs no call on the node, else when its calls there have ended, at the latest after
`bound` seconds (`hand_back_seconds`); the calls still up then are left in Stasis, and the instance
that takes the node picks them up as after a restart. If the standby goes away meanwhile (that
instance stopped again), the hand-back is called off and the taker keeps the node.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5


class HandBack:
    def __init__(self, node: str, standby_holder: Callable[[], Awaitable[str | None]],
                 calls: Callable[[], int], bound: float, poll: float = POLL_SECONDS):
        self.node, self.standby_holder, self.calls, self.bound, self.poll = node, standby_holder, calls, bound, poll
        self.to: str | None = None          # the instance the node is being handed back to, if any

    async def due(self) -> str:
        """Returns when the node is to be released; the instance standing by for it."""
        while True:
            self.to = None
            while (owner := await self._standing_by()) is None:
                await asyncio.sleep(self.poll)
            self.to = owner
            calls = self.calls()
            log.warning("handing node back node=%s to=%s calls=%d within=%ss", self.node, owner, calls,
                        self.bound if calls else 0)
            deadline = asyncio.get_running_loop().time() + self.bound
            while self.calls() and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(self.poll)
                if await self._standing_by() is None:
                    break
            else:
                if calls := self.calls():
                    log.warning("node handed back with calls in progress, left in stasis for %s node=%s calls=%d",
                                owner, self.node, calls)
                else:
                    log.warning("node handed back node=%s to=%s", self.node, owner)
                return owner
            log.warning("hand-back called off: nobody stands by any more node=%s", self.node)

    async def _standing_by(self) -> str | None:
        """The instance holding the node's standby lock; while the database cannot say, what was
        known (nothing starts or stops a hand-back on an outage)."""
        try:
            return await self.standby_holder()
        except Exception as e:      # refused, timed out, restarting: asyncpg's errors share no base
            log.debug("hand-back: standby unknown node=%s error=%s", self.node, e)
            return self.to
