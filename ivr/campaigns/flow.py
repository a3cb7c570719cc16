"""What the passenger hears and presses: the `confirm` and `notice` flows on CallSession.prompt.

The digit is stored before the thank-you prompt plays, so a crash after a press never loses it.
The trip is spoken with ivr.say in the call's language: the route name (a recording, else speech
made once), the departure in the callee's local time, then the seat (confirm) or bus and platform
(notice).
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.flows.inbound import new_context, walk
from ivr.ari.client import AriError, ChannelGone
from ivr.calls.cards import Card
from ivr.calls.prompt import PromptOptions, PromptResult
from ivr.calls.session import CallSession
from ivr.campaigns.model import Attempt, Profile, Row
from ivr.campaigns.store import CampaignStore
from ivr.errors import IvrError
from ivr.flows.context import Services
from ivr.plan.model import Plan
from ivr.say import SayError, say_bus, say_datetime, say_platform, say_seat

log = logging.getLogger(__name__)

# A passenger may ask to hear the trip again this often (0 = repeat) before the call ends.
MAX_REPEATS = 3


# A prompt name for a text in a language (TextSpeaker.speak_text); blocking.
Speak = Callable[[str, str], str]


def _number(text: str) -> int | None:
    """The first number of a seat, bus or platform as written ("12", "12, 13", "№ 3")."""
    m = re.search(r"\d+", text)
    return int(m.group()) if m and int(m.group()) > 0 else None


def trip_words(row: Row, kind: str, language: str, route_prompt: str = "") -> tuple[str, ...]:
    """The trip as prompt names: route, departure (callee's local time), then the seat for a
    confirm call, bus and platform for a notice. A language the say module lacks says only the route."""
    p = row.passenger
    words: list[str] = [route_prompt] if route_prompt else []
    try:
        if p.departure is not None:
            words += say_datetime(p.departure.astimezone(ZoneInfo(row.timezone)), language)
        numbers = ((p.seat, say_seat),) if kind == "confirm" else ((p.bus, say_bus), (p.platform, say_platform))
        for text, say in numbers:
            n = _number(text)
            if n is not None:
                words += say(n, language)
    except SayError as e:
        log.warning("campaign trip not spoken row=%s lang=%s error=%s", row.id, language, e.message)
        return tuple(words[:1]) if route_prompt else ()
    return tuple(words)


async def trip_prompts(row: Row, kind: str, language: str, speak: Speak | None) -> tuple[str, ...]:
    """trip_words with the route name spoken (espeak-ng on a cache miss, off the event loop)."""
    route_prompt = ""
    if row.passenger.route.strip() and speak is not None:
        try:
            route_prompt = await asyncio.to_thread(speak, row.passenger.route, language)
        except (IvrError, OSError) as e:     # no espeak-ng, a full disk: the call goes on without it
            log.warning("campaign route name not spoken row=%s error=%s", row.id, e)
    return trip_words(row, kind, language, route_prompt)


def campaign_card(row: Row, campaign: str, digit: str, action: str, timezone: str) -> Card:
    """The dispatcher's card for a passenger who pressed `digit` (their phone shows the label:
    "Olga Ivanova T1 26.11 09:30"); the departure in the plan's time zone, as the console shows times."""
    p = row.passenger
    departure = p.departure.astimezone(ZoneInfo(timezone)) if p.departure is not None else None
    label = " ".join(part for part in (p.name, p.trip_id, departure.strftime("%d.%m %H:%M") if departure else "")
                     if part)
    fields = (("Phone", p.phone), ("Trip", p.trip_id), ("Route", p.route),
              ("Departure", departure.strftime("%d.%m.%Y %H:%M") if departure else ""),
              ("Seat", p.seat), ("Bus", p.bus), ("Platform", p.platform), ("Campaign", campaign),
              ("Pressed", f"{digit} ({action})"))
    return Card(title=p.name or p.phone, number=p.phone, label=label,
                fields=tuple((name, value) for name, value in fields if value), kind="campaign")


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
                   amd_status: str, plan: Plan, services: Services, now: Callable[[], datetime],
                   speak: Speak | None = None) -> str:
    """Run one answered campaign call; returns the outcome it stored (an action, no_input, machine)."""
    w = profile.wording
    if attempt.answer:
        # Picked up again after a restart: the answer is stored, only the thanks were missing.
        await session.play(w.thanks.get(attempt.answer, ()))
        return attempt.answer
    await store.answered(attempt.id, now())
    trip = await trip_prompts(row, profile.kind, session.language, speak)
    if amd_status == "MACHINE":
        await store.set_outcome(attempt.id, "machine")
        if profile.machine == "message":
            await session.play(w.machine + trip)
        return "machine"
    digits = profile.digits
    silent = 0
    repeats = 0
    while True:
        result = await _ask(session, PromptOptions(
            prompts=w.intro + trip + w.question, first_digit_timeout=profile.answer_timeout,
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
        if await store.store_answer(attempt.id, result.digits, action, now(), profile.webhook) \
                and profile.webhook and services.missed is not None:
            services.missed.worker.kick()        # the outbox worker of the notifications delivers it
        log.info("campaign answer call=%s row=%s digit=%s action=%s", session.channel_id, row.id,
                 result.digits, action)
        await session.play(w.thanks.get(action, ()))
        if action == "dispatcher" and profile.dispatcher:
            ctx = new_context(session, plan, now, "", row.passenger.phone, services)
            try:
                name = (await store.get(row.campaign_id)).name
            except Exception:        # the card is a help: the passenger reaches a dispatcher without it
                log.exception("campaign name not read row=%s", row.id)
                name = ""
            ctx.card = campaign_card(row, name, result.digits, action, plan.timezone)
            await walk(ctx, profile.dispatcher)
        return action
