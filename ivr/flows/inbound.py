"""An inbound call from start to end: find the company number, walk the plan's nodes, store the record."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

from ivr.calls.cards import Card
from ivr.calls.journal import CallJournal
from ivr.calls.session import NODE_LOST, CallEnded, CallSession
from ivr.contacts.card import contact_card
from ivr.flows import EXECUTORS
from ivr.flows.context import FlowContext, Services
from ivr.flows.recording import record_conversation
from ivr.plan.model import Plan
from ivr.plan.nodes import KINDS
from ivr.store.calls import CallStore
from ivr.store.errors import CallExists
from ivr.store.retry import until_stored

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from ivr.campaigns.callback import PassengerLookup
    from ivr.contacts.store import Contact

log = logging.getLogger(__name__)

# Hard stop for a plan walk: validation refuses loops that never wait, this guards the rest.
MAX_STEPS = 500


async def run_inbound(ctx: FlowContext, calls: CallStore, plan_version: int | None) -> None:
    journal, call, plan = ctx.journal, ctx.call, ctx.plan
    number = plan.numbers.get(ctx.company_number)
    start = partial(calls.start, call.channel_id, ctx.caller, ctx.company_number, number.source if number else "",
                    plan_version, ctx.now(), language=call.language, caller_name=ctx.caller_name)
    callback = ctx.services.campaign_callback
    passenger = _passenger_lookup(ctx) if callback is not None and number is not None else None
    try:
        journal.call_id = await _start_with_lookups(ctx, start, passenger)
    except CallExists:
        # The service restarted while this caller waited: carry on the same record.
        earlier = await calls.by_channel(call.channel_id)
        assert earlier is not None
        journal.call_id = earlier.id
        journal.step("picked_up_after_restart")
    ctx.card = await _caller_card(ctx)
    log.info("call started call=%s caller=%s number=%s source=%s", call.channel_id, ctx.caller,
             ctx.company_number, number.source if number else "-")
    try:
        if number is None:
            journal.outcome = "unknown_number"
            log.warning("call to a number not in the plan call=%s number=%s", call.channel_id,
                        ctx.company_number)
            return
        await call.answer()
        if number.record:
            await record_conversation(ctx, "number")
        if callback is not None and await callback(ctx, passenger):
            return
        await walk(ctx, number.entry)
    except CallEnded:
        if call.node_lost:
            # The node died under the call: whatever it reached, the caller is to be called back.
            journal.outcome = NODE_LOST
            journal.step(NODE_LOST)
            return
        if journal.outcome not in ("answered", "voicemail", "callback_requested"):
            # Where the caller was when they hung up says the outcome (each kind declares it).
            kind = KINDS.get(journal.node_kind)
            journal.outcome = kind.abandoned if kind else "abandoned"
        journal.step("caller_hung_up")
    finally:
        await asyncio.shield(_finish(ctx, calls))


def _passenger_lookup(ctx: FlowContext) -> PassengerLookup | None:
    """The campaign call-back's lookup of the caller, None when even asking fails (the call-back
    then asks again itself, as a courtesy that never stops the call)."""
    try:
        return ctx.services.campaign_callback.lookup(ctx)
    except Exception:
        log.exception("campaign call-back lookup failed call=%s caller=%s", ctx.call.channel_id, ctx.caller)
        return None


async def _start_with_lookups(ctx: FlowContext, start: Callable[..., Awaitable[int]],
                              passenger: PassengerLookup | None) -> int:
    """The call's row, with the caller's contact and campaign row (`passenger`, which keeps what it
    found) looked up in the same hop (CallStore.start's `named_by`): a hop costs more than its
    statement. Lookups are a courtesy: when that fails, the row alone, without them."""
    lookup = ctx.services.missed.contacts.lookup(ctx.caller) if ctx.contact_wanted else None
    if passenger is not None and passenger.done:
        passenger = None
    if lookup is None and passenger is None:
        return await start()
    found: list[Contact | None] = [None]

    def contact_name(conn: Connection) -> str:
        if passenger is not None:
            passenger(conn)
        found[0] = lookup(conn) if lookup is not None else None
        return found[0].name if found[0] else ""
    try:
        call_id = await start(named_by=contact_name)
    except CallExists:
        raise
    except Exception:
        log.exception("the call's row with its lookups failed, storing it alone call=%s caller=%s",
                      ctx.call.channel_id, ctx.caller)
        ctx.contact_looked_up(None)
        return await start()
    if lookup is not None:
        ctx.contact_looked_up(found[0])
    return call_id


async def _caller_card(ctx: FlowContext) -> Card | None:
    """The caller's card (for the staff phones rung), None for an unknown caller. The card is a
    courtesy: a failed lookup is logged and the call goes on."""
    contact = await ctx.caller_contact()
    if contact is None:
        return None
    missed = ctx.services.missed
    try:
        items = await missed.store.list(status="pending", customer=ctx.caller)
    except Exception:            # the card without its missed calls
        log.exception("missed-call lookup failed call=%s caller=%s", ctx.call.channel_id, ctx.caller)
        items = []
    return contact_card(contact, ctx.caller, items, ctx.plan.timezone, ctx.now())


async def walk(ctx: FlowContext, node_id: str | None) -> None:
    for _ in range(MAX_STEPS):
        if node_id is None:
            break
        node = ctx.plan.nodes[node_id]
        ctx.journal.enter(node_id, node.kind)
        if getattr(node, "record", False):          # hunt, forward, queue: the conversation from here
            await record_conversation(ctx, node_id)
        node_id = await EXECUTORS[node.kind](node, ctx)
    else:
        log.error("plan walk stopped after %d nodes call=%s", MAX_STEPS, ctx.call.channel_id)
        ctx.journal.outcome = "error"


async def _finish(ctx: FlowContext, calls: CallStore) -> None:
    journal = ctx.journal
    await ctx.call.hangup()
    outcome = journal.outcome or "ended_by_plan"
    try:
        ended_at = ctx.now()
        record = await until_stored(lambda: calls.close(journal.call_id, journal.steps, ended_at, outcome,
                                                        journal.answered_by, journal.answered_at,
                                                        ctx.call.language), "storing the call record")
    except Exception:
        log.exception("storing the call record failed call=%s", ctx.call.channel_id)
    else:
        if ctx.services.missed is not None:
            # After the record is stored; a crash before this is caught up at the next start.
            try:
                await ctx.services.missed.review(record)
            except Exception:
                log.exception("missed-call review failed call=%s", ctx.call.channel_id)
    log.info("call ended call=%s outcome=%s answered_by=%s", ctx.call.channel_id, outcome,
             journal.answered_by or "-")


def new_context(session: CallSession, plan: Plan, now, company_number: str, caller: str,
                services: Services, caller_name: str = "") -> FlowContext:
    return FlowContext(call=session, plan=plan, journal=CallJournal(now), now=now,
                       company_number=company_number, caller=caller, services=services,
                       caller_name=display_name(caller_name, caller))


def display_name(raw: str, number: str) -> str:
    """The caller's display name as a network sent it, fit to store and show: no control characters
    (a name goes into mail subjects and phone displays), at most 100 characters, and nothing when it
    only repeats the number."""
    name = " ".join("".join(ch if ch.isprintable() else " " for ch in raw).split())[:100]
    return "" if name in (number, number.lstrip("+")) else name
