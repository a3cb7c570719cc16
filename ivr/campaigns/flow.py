"""What the passenger hears and presses: the `confirm` and `notice` flows on CallSession.prompt.

The digit is stored before the thank-you prompt plays, so a crash after a press never loses it.
Speaking the trip: until the `say` module (ivr/say/) exists, the trip is read with Asterisk's own
media (`number:`), in the call's language; route names are not spoken yet.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.calls.inbound import new_context, walk
from ivr.ari.client import AriError, ChannelGone
from ivr.calls.prompt import PromptOptions, PromptResult
from ivr.calls.session import CallSession
from ivr.campaigns.model import Attempt, Profile, Row
from ivr.campaigns.store import CampaignStore
from ivr.flows.context import Services
from ivr.plan.model import Plan

log = logging.getLogger(__name__)

# A passenger may ask to hear the trip again this often (0 = repeat) before the call ends.
MAX_REPEATS = 3


def trip_prompts(row: Row) -> tuple[str, ...]:
    """The trip as media: departure hour and minute, then the seat number."""
    p = row.passenger
    media: list[str] = []
    if p.departure is not None:
        local = p.departure.astimezone(ZoneInfo(row.timezone))
        media += [f"number:{local.hour}", f"number:{local.minute}"] if local.minute else [f"number:{local.hour}"]
    if p.seat.split(",")[0].strip().isdigit():
        media.append(f"number:{p.seat.split(',')[0].strip()}")
    return tuple(media)


async def _ask(session: CallSession, options: PromptOptions) -> PromptResult:
    """CallSession.prompt, once more when stopping the prompts for a digit failed (Asterisk answers
    500 to a stop between two media of one playback): the digit is kept and taken at once."""
    try:
        return await session.prompt(options)
    except ChannelGone:
        raise
    except AriError as e:
        log.warning("campaign prompt failed, asking again call=%s error=%s", session.channel_id, e.message)
        return await session.prompt(options)


async def run_flow(session: CallSession, store: CampaignStore, attempt: Attempt, row: Row, profile: Profile,
                   amd_status: str, plan: Plan, services: Services, now: Callable[[], datetime]) -> str:
    """Run one answered campaign call; returns the outcome it stored (an action, no_input, machine)."""
    w = profile.wording
    if attempt.answer:
        # Picked up again after a restart: the answer is stored, only the thanks were missing.
        await session.play(w.thanks.get(attempt.answer, ()))
        return attempt.answer
    await store.answered(attempt.id, now())
    if amd_status == "MACHINE":
        await store.set_outcome(attempt.id, "machine")
        if profile.machine == "message":
            await session.play(w.machine + trip_prompts(row))
        return "machine"
    digits = profile.digits
    silent = 0
    repeats = 0
    while True:
        result = await _ask(session, PromptOptions(
            prompts=w.intro + trip_prompts(row) + w.question, first_digit_timeout=profile.answer_timeout,
            valid=frozenset(digits)))
        if result.status != "ok":
            silent += 1
            if silent >= 2:
                await store.set_outcome(attempt.id, "no_input")
                await session.play(w.call_again)
                return "no_input"
            await session.play(w.no_input)
            continue
        action = digits[result.digits]
        if action == "repeat":
            repeats += 1
            if repeats > MAX_REPEATS:
                await store.set_outcome(attempt.id, "no_input")
                await session.play(w.call_again)
                return "no_input"
            continue
        await store.store_answer(attempt.id, result.digits, action, now())
        log.info("campaign answer call=%s row=%s digit=%s action=%s", session.channel_id, row.id,
                 result.digits, action)
        await session.play(w.thanks.get(action, ()))
        if action == "dispatcher" and profile.dispatcher:
            ctx = new_context(session, plan, now, "", row.passenger.phone, services)
            await walk(ctx, profile.dispatcher)
        return action
