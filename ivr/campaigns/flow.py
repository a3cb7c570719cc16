"""What the passenger hears and presses: the `confirm` and `notice` flows on CallSession.prompt.

The digit is stored before the thank-you prompt plays, so a crash after a press never loses it.
The trip is spoken with ivr.say in the call's language: the route name (a recording, else speech
made once), the departure as the ticket prints it (the departure stop's zone, named when the
callee's own zone differs), then the seat (confirm) or bus and platform
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
from ivr.calls.journal import CallJournal
from ivr.calls.prompt import PromptOptions, PromptResult
from ivr.calls.recording import Started, record_call
from ivr.calls.session import CallSession
from ivr.campaigns.model import Attempt, Profile, Row
from ivr.campaigns.store import CampaignStore
from ivr.errors import IvrError
from ivr.flows.context import Services
from ivr.plan.model import Plan
from ivr.say import SayError, say_bus, say_datetime, say_platform, say_seat, say_zone, zone_label

log = logging.getLogger(__name__)

# A passenger may ask to hear the trip again this often (0 = repeat) before the call ends.
MAX_REPEATS = 3


# Russian patronymics: Викторовна, Ильич, Сергеевич, Кузьминична.
_PATRONYMIC = re.compile(r"(вич|вна|ична|ич)$")


# A prompt name for a text in a language (TextSpeaker.speak_text); blocking.
Speak = Callable[[str, str], str]


def _number(text: str) -> int | None:
    """The first number of a seat, bus or platform as written ("12", "12, 13", "№ 3")."""
    m = re.search(r"\d+", text)
    return int(m.group()) if m and int(m.group()) > 0 else None


def trip_zone(row: Row, plan_zone: str) -> str:
    """The zone the ticket prints the departure in: the trip's own, else the plan's."""
    return row.passenger.timezone or plan_zone


def zone_differs(row: Row, plan_zone: str) -> bool:
    """Does the callee's clock show another time than the ticket at departure?"""
    p = row.passenger
    if p.departure is None:
        return False
    return p.departure.astimezone(ZoneInfo(trip_zone(row, plan_zone))).utcoffset() != \
        p.departure.astimezone(ZoneInfo(row.timezone)).utcoffset()


def trip_words(row: Row, kind: str, language: str, plan_zone: str, route_prompt: str = "") -> tuple[str, ...]:
    """The trip as prompt names: route, departure as the ticket prints it (the departure stop's
    zone), that zone named when the callee's clock differs, then the seat for a confirm call, bus
    and platform for a notice. A language the say module lacks says only the route."""
    p = row.passenger
    words: list[str] = [route_prompt] if route_prompt else []
    try:
        if p.departure is not None:
            zone = trip_zone(row, plan_zone)
            words += say_datetime(p.departure.astimezone(ZoneInfo(zone)), language)
            if zone_differs(row, plan_zone):
                words += say_zone(zone, language)
        numbers = ((p.seat, say_seat),) if kind == "confirm" else ((p.bus, say_bus), (p.platform, say_platform))
        for text, say in numbers:
            n = _number(text)
            if n is not None:
                words += say(n, language)
    except SayError as e:
        log.warning("campaign trip not spoken row=%s lang=%s error=%s", row.id, language, e.message)
        return tuple(words[:1]) if route_prompt else ()
    return tuple(words)


async def trip_prompts(row: Row, kind: str, language: str, speak: Speak | None, plan_zone: str
                       ) -> tuple[str, ...]:
    """trip_words with the route name spoken (espeak-ng on a cache miss, off the event loop)."""
    route_prompt = ""
    if row.passenger.route.strip() and speak is not None:
        try:
            route_prompt = await asyncio.to_thread(speak, row.passenger.route, language)
        except (IvrError, OSError) as e:     # no espeak-ng, a full disk: the call goes on without it
            log.warning("campaign route name not spoken row=%s error=%s", row.id, e)
    return trip_words(row, kind, language, plan_zone, route_prompt)


def display_name(name: str) -> str:
    """Surname and initials for a narrow screen: "Кузнецова Мария Викторовна" and "Мария Викторовна
    Кузнецова" give "Кузнецова М.В."; a name without a patronymic is kept as written."""
    words = name.split()
    patronymic = next((i for i, w in enumerate(words) if _PATRONYMIC.search(w.lower())), None)
    if len(words) != 3 or patronymic not in (1, 2):
        return " ".join(words)
    if patronymic == 1:                                # Имя Отчество Фамилия
        words = [words[2], words[0], words[1]]
    return f"{words[0]} {words[1][0]}.{words[2][0]}."


def campaign_card(row: Row, campaign: str, digit: str, action: str, timezone: str) -> Card:
    """The dispatcher's card for a passenger who pressed `digit`. Their phone shows what matters
    first, within its limit: trip, departure, surname ("МТ-0730 08.12 09:15 Кузнецова М.В."); the
    departure as the ticket prints it (the trip's zone, else `timezone`, the plan's)."""
    p = row.passenger
    zone = trip_zone(row, timezone)
    departure = p.departure.astimezone(ZoneInfo(zone)) if p.departure is not None else None
    label = " ".join(part for part in (p.trip_id, departure.strftime("%d.%m %H:%M") if departure else "",
                                       display_name(p.name)) if part)
    shown = departure.strftime("%d.%m.%Y %H:%M") if departure else ""
    if departure is not None and zone != timezone:
        shown += f" ({zone_label(zone, 'en')})"
    fields = (("Phone", p.phone), ("Trip", p.trip_id), ("Route", p.route), ("Departure", shown),
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
                   speak: Speak | None = None, conversation: CallJournal | None = None) -> str:
    """Run one answered campaign call; returns the outcome it stored (an action, no_input, machine).
    `conversation` keeps the steps of the talk with a dispatcher (option 3) for the call record."""
    w = profile.wording
    if attempt.answer:
        # Picked up again after a restart: the answer is stored, only the thanks were missing.
        await session.play(w.thanks.get(attempt.answer, ()))
        return attempt.answer
    await store.answered(attempt.id, now())
    trip = await trip_prompts(row, profile.kind, session.language, speak, plan.timezone)
    if amd_status == "MACHINE":
        await store.set_outcome(attempt.id, "machine")
        if profile.machine == "message":
            await session.play(w.machine + trip)
        return "machine"
    recording = ""                  # the file's name once recording (a dispatcher's bridge follows)
    if profile.record and services.recorder is not None:
        started = await record_call(session, services.recorder, plan, now())
        recording = started.name if isinstance(started, Started) else ""
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
            if conversation is not None:
                ctx.journal = conversation
            ctx.recording = recording
            try:
                name = (await store.get(row.campaign_id)).name
            except Exception:        # the card is a help: the passenger reaches a dispatcher without it
                log.exception("campaign name not read row=%s", row.id)
                name = ""
            ctx.card = campaign_card(row, name, result.digits, action, plan.timezone)
            await walk(ctx, profile.dispatcher)
        return action
