"""A passenger calling back the number a campaign called from: recognised by their number, they
hear their trip again and 1/2/3 work as in the campaign's call (the answer is stored on an attempt
of their row, trunk "inbound"); anyone else, or a passenger with no trip ahead, goes on into the
plan as usual (its menu, the dispatcher queue)."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ivr.calls.session import CallEnded
from ivr.ari.client import ChannelGone
from ivr.campaigns.flow import run_flow
from ivr.errors import IvrError
from ivr.campaigns.model import Campaign, Row
from ivr.flows.context import FlowContext

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from ivr.campaigns.dialer import CampaignDialer

log = logging.getLogger(__name__)


@dataclass
class PassengerLookup:
    """The caller's campaign row, looked up as part of other work (the call's first hop). Made done
    and empty for a caller who cannot be a passenger."""
    work: Callable[[Connection], tuple[Row, Campaign] | None] | None
    found: tuple[Row, Campaign] | None = None
    done: bool = False

    def __call__(self, conn: Connection) -> None:
        if self.work is not None:
            self.found = self.work(conn)
        self.done = True


class CampaignCallback:
    """Services.campaign_callback: asked by every inbound call before the plan's entry node."""

    def __init__(self, dialer: CampaignDialer):
        self.dialer = dialer

    def _may_be_passenger(self, ctx: FlowContext) -> bool:
        """The caller has a number and called one that campaign calls present."""
        try:
            presented = self.presented(ctx)
        except IvrError as e:    # a campaigns.yaml that no longer fits the live plan: the plan takes the call
            log.warning("campaign profiles unreadable, call-back recognition off call=%s: %s",
                        ctx.call.channel_id, e.message.splitlines()[0])
            return False
        return bool(ctx.caller) and ctx.company_number in presented

    def presented(self, ctx: FlowContext) -> set[str]:
        """The numbers campaign calls present: the profiles' own and the trunks'."""
        profiles = self.dialer.profiles()
        return {p.caller_id for p in profiles.values() if p.caller_id} | \
            {t.caller_id for t in ctx.plan.trunks.values() if t.caller_id}

    def lookup(self, ctx: FlowContext) -> PassengerLookup:
        """The lookup of the caller's row, for the call to run in its first hop with its own work
        (a hop of its own costs more than the statement)."""
        if not self._may_be_passenger(ctx):
            return PassengerLookup(None, done=True)
        return PassengerLookup(self.dialer.store.callback_lookup(ctx.caller, ctx.now()))

    async def __call__(self, ctx: FlowContext, looked_up: PassengerLookup | None = None) -> bool:
        """Handle the call if it is a passenger calling back; False: the plan takes it. `looked_up`:
        what `lookup` gave; not done (or none), the lookup runs here."""
        store = self.dialer.store
        try:
            if looked_up is not None and looked_up.done:
                found = looked_up.found
            elif self._may_be_passenger(ctx):
                found = await store.callback_row(ctx.caller, ctx.now())
            else:
                return False
            profile = self.dialer.profiles().get(found[1].profile) if found else None
        except Exception:        # a courtesy: the caller still reaches the plan
            log.exception("campaign call-back lookup failed call=%s caller=%s", ctx.call.channel_id, ctx.caller)
            return False
        if found is None or profile is None:
            return False
        row, campaign = found
        async with self.dialer.inbound_attempt(row, ctx.call.channel_id, ctx.now()) as attempt:
            log.info("campaign passenger called back call=%s campaign=%s row=%s", ctx.call.channel_id,
                     campaign.id, row.id)
            ctx.journal.step("campaign_callback", campaign=campaign.id, row=row.id, trip=row.passenger.trip_id)
            try:
                outcome = await run_flow(ctx.call, store, attempt, row, profile, "", ctx.plan, ctx.services,
                                         ctx.now, self.dialer.speaker.speak_text)
                ctx.journal.step("campaign_answer", answer=outcome)
                ctx.journal.outcome = "answered"
            except ChannelGone:
                raise CallEnded("the passenger hung up") from None
            finally:
                await asyncio.shield(store.finish_callback(attempt.id, ctx.now()))
        return True
