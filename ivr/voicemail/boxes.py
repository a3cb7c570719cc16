"""Personal voicemail boxes: one per staff extension with a `mail` in the plan.

A message is a WAV in Asterisk's recording directory (`voicemail/box-EXT/...`, so calls play it as
`recording:`) and a row in `voicemail_messages`. Each change lights or clears the phone's
message-waiting lamp: the dialplan's `[ivr-mwi]` runs MinivmMWI, which publishes the box's counts,
and res_pjsip_mwi sends the NOTIFY to the phone (its endpoint has `mailboxes = EXT@ivr`). A new
message goes to the owner's mail through the durable outbox, the audio attached.
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update

from ivr.ari.client import AriClient, AriError
from ivr.calls.message import Message
from ivr.errors import IvrError, NotFound
from ivr.notify.outbox import enqueue
from ivr.plan.model import Plan
from ivr.store.db import Database
from ivr.store.models import VoicemailRow

log = logging.getLogger(__name__)

MWI_CONTEXT = "ivr-mwi"
MWI_DOMAIN = "ivr"              # mailbox ids are EXT@ivr (pjsip.conf `mailboxes`)
MIN_SECONDS = 1.0               # shorter: a caller who hung up at the beep, nothing to keep
WAV_BYTES_PER_SECOND = 16000    # Asterisk's WAV: 8 kHz, 16 bit, mono
DEFAULT_GREETING = ("vm-theperson", "{digits}", "vm-isunavail", "vm-intro")

MAIL_TEXT = {
    "ru": ("Голосовое сообщение от {caller}", "Вам оставили голосовое сообщение ({seconds} с) {at}.\n"
           "Звонил: {caller}\nСообщение во вложении; прослушать с телефона: *97.\n"),
    "en": ("Voicemail from {caller}", "You have a voicemail ({seconds} s), left {at}.\n"
           "From: {caller}\nThe message is attached; listen from your phone: *97.\n"),
}


class NoMailbox(NotFound):
    error_id = "no-mailbox"


@dataclass(frozen=True)
class VoiceMessage:
    id: int
    box: str
    caller: str
    caller_name: str
    recording: str
    seconds: float
    left_at: datetime
    heard_at: datetime | None

    @property
    def new(self) -> bool:
        return self.heard_at is None

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "box": self.box, "caller": self.caller, "caller_name": self.caller_name,
                "seconds": round(self.seconds, 1), "left_at": self.left_at.isoformat(), "new": self.new,
                "heard_at": self.heard_at.isoformat() if self.heard_at else None}


def _message(row: VoicemailRow) -> VoiceMessage:
    return VoiceMessage(row.id, row.box, row.caller, row.caller_name, row.recording, row.seconds, row.left_at,
                        row.heard_at)


class VoicemailBoxes:
    def __init__(self, db: Database, ari: AriClient, recordings: Path, now: Callable[[], datetime],
                 plan: Callable[[], Plan | None], kick: Callable[[], None]):
        self.db, self.ari, self.recordings, self.now = db, ari, recordings, now
        self.plan, self.kick = plan, kick

    # ----- boxes and their files -----

    def owner(self, box: str) -> str:
        """The box owner's mail address; NoMailbox when the extension has no box in the live plan."""
        plan = self.plan()
        person = plan.staff.get(box) if plan else None
        if person is None or not person.mail:
            raise NoMailbox(f"extension {box} has no voicemail box (no mail in the plan)")
        return person.mail

    def new_recording(self, box: str) -> str:
        return f"voicemail/box-{box}/{self.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"

    @staticmethod
    def greeting_name(box: str) -> str:
        return f"voicemail/box-{box}/greeting"

    def path(self, recording: str) -> Path:
        return self.recordings / f"{recording}.wav"

    def greeting(self, box: str) -> list[str]:
        """What a caller hears before the beep: the owner's own greeting, else "the person at
        extension EXT is unavailable, please leave a message"."""
        if self.path(self.greeting_name(box)).exists():
            return ["recording:" + self.greeting_name(box)]
        return [p.format(digits=f"digits:{box}") for p in DEFAULT_GREETING]

    # ----- messages -----

    async def keep(self, box: str, message: Message, caller: str, caller_name: str) -> VoiceMessage | None:
        """Store a message just recorded, light the lamp, queue the mail. None when it was too
        short to be a message (its file is removed)."""
        path = self.path(message.name)
        size = path.stat().st_size if path.exists() else 0
        seconds = message.seconds or max(0, size - 44) / WAV_BYTES_PER_SECOND
        if seconds < MIN_SECONDS:
            path.unlink(missing_ok=True)
            log.info("voicemail too short, dropped box=%s caller=%s seconds=%.1f", box, caller, seconds)
            return None
        mail = self.owner(box)
        plan = self.plan()
        now = self.now()
        async with self.db.session() as session, session.begin():
            row = VoicemailRow(box=box, caller=caller, caller_name=caller_name, recording=message.name,
                               seconds=seconds, left_at=now, heard_at=None)
            session.add(row)
            await session.flush()
            kept = _message(row)
            # Keyed by the recording: a deleted message's id may be given again.
            await enqueue(session, f"voicemail:{message.name}", "mail", mail,
                          _mail_payload(kept, str(path), plan), now)
        self.kick()
        log.info("voicemail left box=%s id=%d caller=%s seconds=%.1f", box, kept.id, caller, seconds)
        await self.publish(box)
        return kept

    async def messages(self, box: str) -> list[VoiceMessage]:
        """New messages first, then old ones; oldest first within each."""
        query = select(VoicemailRow).where(VoicemailRow.box == box).order_by(
            VoicemailRow.heard_at.is_not(None), VoicemailRow.left_at, VoicemailRow.id)
        async with self.db.session() as session:
            return [_message(r) for r in (await session.scalars(query)).all()]

    async def counts(self, box: str) -> tuple[int, int]:
        """(new, old) messages in the box."""
        query = select(VoicemailRow.heard_at.is_(None), func.count()).where(VoicemailRow.box == box) \
            .group_by(VoicemailRow.heard_at.is_(None))
        async with self.db.session() as session:
            found = {new: count for new, count in (await session.execute(query)).all()}
        return found.get(True, 0), found.get(False, 0)

    async def heard(self, box: str, message_id: int) -> None:
        async with self.db.session() as session, session.begin():
            await session.execute(update(VoicemailRow).where(VoicemailRow.id == message_id, VoicemailRow.box == box,
                                                            VoicemailRow.heard_at.is_(None)).values(heard_at=self.now()))
        await self.publish(box)

    async def delete(self, box: str, message_id: int) -> None:
        async with self.db.session() as session, session.begin():
            row = await session.get(VoicemailRow, message_id)
            if row is None or row.box != box:
                raise NotFound(f"no voicemail {message_id} in box {box}")
            recording = row.recording
            await session.execute(delete(VoicemailRow).where(VoicemailRow.id == message_id))
        self.path(recording).unlink(missing_ok=True)
        log.info("voicemail deleted box=%s id=%d", box, message_id)
        await self.publish(box)

    # ----- the lamp -----

    async def publish(self, box: str) -> None:
        """Tell Asterisk the box's counts: the phone's lamp follows. A failure only delays the lamp
        (every box is published again when the service connects to Asterisk)."""
        new, old = await self.counts(box)
        channel = f"mwi-{box}-{secrets.token_hex(4)}"
        try:
            # The Local channel's other half runs MinivmMWI and hangs up unanswered: the originate
            # ends there and nothing reaches the Stasis app.
            await self.ari.originate(f"Local/{box}_{new}_{old}@{MWI_CONTEXT}/n", channel, "mwi", timeout=5)
        except AriError as e:
            log.warning("message-waiting lamp not updated box=%s error=%s", box, e.message)
            return
        log.info("message waiting box=%s new=%d old=%d", box, new, old)

    async def publish_all(self) -> None:
        plan = self.plan()
        try:
            for box in plan.mailboxes if plan else ():
                await self.publish(box)
        except IvrError as e:                 # the database is away: the lamps wait for the next change
            log.error("message-waiting lamps not published error=%s", e.message)


def _mail_payload(message: VoiceMessage, wav: str, plan: Plan | None) -> dict[str, object]:
    language = plan.language if plan and plan.language in MAIL_TEXT else "en"
    subject, body = MAIL_TEXT[language]
    caller = f"{message.caller_name} <{message.caller}>" if message.caller_name else message.caller
    at = message.left_at.astimezone(ZoneInfo(plan.timezone)) if plan else message.left_at
    fields = {"caller": caller or "?", "seconds": f"{message.seconds:.0f}", "at": f"{at:%Y-%m-%d %H:%M}"}
    return {"subject": subject.format(**fields), "body": body.format(**fields), "facts": {"voicemail": wav},
            "language": language}
