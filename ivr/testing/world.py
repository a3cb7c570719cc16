"""The world simulator's driver: callers, staff phones and carrier networks on a second Asterisk.

Tests script what each party does ("101 never answers, 102 is busy, 103 answers after 0.5 s") and
read back what each party heard (a WAV recorded on that party's side) and when its INVITE started
and stopped ringing. Everything goes through the world Asterisk's own ARI.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from ivr.ari.bus import EventBus
from ivr.ari.client import AriClient, AriError
from ivr.ari.events import WANTED, ChannelDestroyed, ChannelDtmfReceived, Event, StasisEnd, StasisStart

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Behaviour:
    """What a phone (or a subscriber behind a carrier) does when the PBX calls it."""

    action: str = "answer"           # answer | busy | ignore (rings until cancelled) | reject
    after: float = 0.0               # seconds of ringing before answering / rejecting
    play: tuple[str, ...] = ()       # media to play once answered (its voice)
    play_after: float = 0.0          # seconds after answering before it speaks
    press: str = ""                  # digits to press after answering
    press_after: float = 1.0
    hangup_after: float = 0.0        # 0: stay until the other side hangs up


@dataclass
class Leg:
    """One call in the world: a caller we placed, or an INVITE the PBX sent us."""

    channel_id: str
    target: str                      # the number dialled / phone extension
    via: str = ""                    # carrier address or "" for a caller
    invited_at: float = 0.0
    caller_number: str = ""          # what the INVITE presented (From): number and display name
    caller_name: str = ""
    answered_at: float | None = None
    ended_at: float | None = None
    cause: int = 0
    digits: list[str] = field(default_factory=list)
    recording: str = ""
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def ring_seconds(self) -> float:
        end = self.answered_at or self.ended_at or time.monotonic()
        return end - self.invited_at


class World:
    def __init__(self, ari_url: str, user: str, password: str, spool: Path, app: str = "world",
                 carriers: dict[str, str] | None = None):
        self.bus = EventBus()
        self.ari = AriClient(ari_url, user, password, app, on_event=self._on_event, wanted=WANTED)
        self.spool = spool
        self.carriers = carriers or {}            # ip -> carrier name
        self.behaviours: dict[str, Behaviour] = {}
        self.default_behaviour = Behaviour("ignore")
        self.legs: dict[str, Leg] = {}
        self.incoming: list[Leg] = []              # every INVITE the PBX sent, in order
        self._ids = itertools.count(1)
        self._task: asyncio.Task | None = None
        self._scripts: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self.ari.run_forever())
        await self.ari.wait_connected(15)

    async def stop(self) -> None:
        for t in list(self._scripts):
            t.cancel()
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def reset(self) -> None:
        self.behaviours.clear()
        self.incoming.clear()
        self.legs.clear()

    def new_id(self, what: str) -> str:
        return f"w{int(time.time())}-{what}{next(self._ids)}"

    # ----- events -----

    def _on_event(self, event: Event) -> None:
        if isinstance(event, StasisStart) and event.args[:1] == ("incoming",):
            exten, local = event.args[1], (event.args[2] if len(event.args) > 2 else "")
            ip = local.rsplit(":", 1)[0]
            leg = Leg(event.channel.id, exten, self.carriers.get(ip, ""), time.monotonic(),
                      caller_number=event.channel.caller_number, caller_name=event.channel.caller_name)
            self.legs[leg.channel_id] = leg
            self.incoming.append(leg)
            # "number@carrier" scripts one network only (a trunk that fails while another gets through).
            behaviour = self.behaviours.get(f"{exten}@{leg.via}") or self.behaviours.get(exten, self.default_behaviour)
            self._spawn(self._answer_incoming(leg, behaviour))
        for key in event.keys():
            leg = self.legs.get(key)
            if leg is None:
                continue
            if isinstance(event, ChannelDtmfReceived):
                leg.digits.append(event.digit)
            elif isinstance(event, (ChannelDestroyed, StasisEnd)) and key == leg.channel_id \
                    and leg.ended_at is None:
                leg.ended_at = time.monotonic()
                leg.cause = getattr(event, "cause", 0)
                leg.ended.set()
            elif event.type == "ChannelStateChange" and getattr(event, "channel").state == "Up" \
                    and leg.answered_at is None:
                leg.answered_at = time.monotonic()
                leg.answered.set()
        self.bus.publish(event)

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._scripts.add(task)
        task.add_done_callback(self._scripts.discard)

    # ----- the PBX calls a phone or a subscriber -----

    async def _answer_incoming(self, leg: Leg, b: Behaviour) -> None:
        try:
            if b.action == "busy":
                await asyncio.sleep(b.after)
                await self.ari.hangup(leg.channel_id, reason="busy")
                return
            if b.action == "reject":
                await asyncio.sleep(b.after)
                await self.ari.hangup(leg.channel_id, reason="congestion")
                return
            await self.ari.ring(leg.channel_id)
            if b.action == "ignore":
                return
            await asyncio.sleep(b.after)
            await self._record(leg)
            await self.ari.answer(leg.channel_id)
            await self._act(leg, b)
        except AriError as e:
            log.debug("world leg %s: %s", leg.channel_id, e.message)

    async def _act(self, leg: Leg, b: Behaviour) -> None:
        if b.play:
            await asyncio.sleep(b.play_after)
            await self.ari.play(leg.channel_id, list(b.play), self.new_id("pb"))
        if b.press:
            await asyncio.sleep(b.press_after)
            await self.ari.send_dtmf(leg.channel_id, b.press)
        if b.hangup_after:
            await asyncio.sleep(b.hangup_after)
            await self.ari.hangup(leg.channel_id)

    async def _record(self, leg: Leg) -> None:
        """Record what this party hears: a snoop on the audio coming to it from the PBX."""
        snoop = self.new_id("snoop")
        leg.recording = self.new_id("heard")
        with self.bus.subscribe(snoop) as sub:
            await self.ari.snoop(leg.channel_id, snoop, "in", "snoop")
            # Recording needs the snoop channel inside our app first.
            while not isinstance(await sub.get(5), StasisStart):
                pass
        await self.ari.record(snoop, leg.recording, "wav")

    # ----- a caller calls the company -----

    async def call(self, number: str, caller: str, via: str = "default", timeout: int = 30,
                   endpoint: str = "", headers: dict[str, str] | None = None, name: str = "") -> Leg:
        """Place a call to a company number through a carrier's trunk; recording starts before
        the PBX answers, so the first syllable of the greeting is heard too. `endpoint`: another
        world endpoint than via-<via> (a registrar's login); `headers`: SIP headers to add."""
        channel_id = self.new_id("caller")
        leg = Leg(channel_id, number, via, time.monotonic())
        self.legs[channel_id] = leg
        # A created channel takes operations once it is inside our app (before that: 409).
        with self.bus.subscribe(channel_id) as staged:
            await self.ari.create_channel(f"PJSIP/{number}@{endpoint or 'via-' + via}", channel_id, "caller")
            while not isinstance(await staged.get(5), StasisStart):
                pass
        # An outgoing PJSIP channel presents its connected line as the caller (From header).
        await self.ari.set_var(channel_id, "CONNECTEDLINE(num,i)", caller)
        for name, value in (headers or {}).items():
            await self.ari.set_var(channel_id, f"PJSIP_HEADER(add,{name})", value)
        if name:                                   # the display name of the From header
            await self.ari.set_var(channel_id, "CONNECTEDLINE(name,i)", name)
        await self._record(leg)
        await self.ari.dial(channel_id, timeout=timeout)
        return leg

    async def dial_from_phone(self, phone: str, dialled: str, record: bool = False) -> Leg:
        """Staff phone `phone` dials `dialled` (as typed) through the PBX; `record`: keep what it hears."""
        channel_id = self.new_id("phone")
        leg = Leg(channel_id, dialled, f"phone-{phone}", time.monotonic())
        self.legs[channel_id] = leg
        with self.bus.subscribe(channel_id) as staged:
            await self.ari.create_channel(f"PJSIP/{dialled}@phone-{phone}", channel_id, "caller")
            while not isinstance(await staged.get(5), StasisStart):
                pass
        if record:
            await self._record(leg)
        await self.ari.dial(channel_id, timeout=30)
        return leg

    async def press(self, leg: Leg, digits: str) -> None:
        await self.ari.send_dtmf(leg.channel_id, digits)

    async def transfer(self, leg: Leg, target: str) -> None:
        """The phone on `leg` presses Transfer and keys in `target`: a blind transfer (SIP REFER).
        The leg leaves the world's app for the dialplan, so its recording goes on but no more
        behaviour is scripted on it."""
        await self.ari.continue_in_dialplan(leg.channel_id, "transfer", target)

    async def attended_transfer(self, held: Leg, consultation: Leg, target: str) -> None:
        """The phone that holds `held` and consulted `target` on `consultation` (a call it made
        through the PBX) presses Transfer: a REFER on `held` with Replaces naming `consultation`."""
        cid = await self.ari.get_var(consultation.channel_id, "CHANNEL(pjsip,call-id)")
        local = await self.ari.get_var(consultation.channel_id, "CHANNEL(pjsip,local_tag)")
        remote = await self.ari.get_var(consultation.channel_id, "CHANNEL(pjsip,remote_tag)")
        # The PBX is the recipient: its tag is the to-tag, the phone's the from-tag (RFC 3891).
        await self.ari.set_var(held.channel_id, "REPLACES", f"{cid}%3Bto-tag%3D{remote}%3Bfrom-tag%3D{local}")
        await self.ari.continue_in_dialplan(held.channel_id, "atransfer", target)

    async def hangup(self, leg: Leg) -> None:
        try:
            await self.ari.hangup(leg.channel_id)
        except AriError:
            pass

    def recording_path(self, leg: Leg) -> Path:
        return self.spool / "recording" / f"{leg.recording}.wav"

    async def wait_recording(self, leg: Leg, timeout: float = 5.0) -> Path:
        """The WAV of what the party heard, once Asterisk has closed it after the call."""
        path = self.recording_path(leg)
        deadline = time.monotonic() + timeout
        size = -1
        while time.monotonic() < deadline:
            if leg.ended.is_set() and path.exists() and path.stat().st_size == size and size > 44:
                return path
            size = path.stat().st_size if path.exists() else -1
            await asyncio.sleep(0.2)
        raise AssertionError(f"no finished recording for {leg.target} at {path}")


async def wait_registered(instance, extensions: list[str], timeout: float = 45) -> None:
    """Wait until the world's phones are registered to the PBX. A first REGISTER sent while the
    PBX was still starting is retried by Asterisk itself within a few seconds. Nothing is nudged:
    `pjsip send register` unregisters first, so nudging knocks a phone out again."""
    deadline = time.monotonic() + timeout
    missing = list(extensions)
    while time.monotonic() < deadline:
        out = instance.cli("pjsip show registrations").splitlines()
        missing = [e for e in extensions
                   if not any(line.strip().startswith(f"reg-{e}/") and " Registered " in line for line in out)]
        if not missing:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"phones not registered to the PBX: {missing}")
