"""Mail delivery over SMTP (aiosmtplib): one missed call per mail, or a digest of several.
A voicemail goes along as MP3 (pydub + ffmpeg); its WAV stays on disk with the item."""
from __future__ import annotations

import asyncio
import io
import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import aiosmtplib
from pydub import AudioSegment
from pydub.exceptions import CouldntDecodeError, CouldntEncodeError

from ivr.notify.config import MailServer
from ivr.notify.outbox import DeliveryFailed, OutboxMessage
from ivr.notify.templates import render_digest, render_single

log = logging.getLogger(__name__)


def wav_to_mp3(path: Path) -> bytes:
    buf = io.BytesIO()
    AudioSegment.from_wav(str(path)).export(buf, format="mp3", bitrate="32k")
    return buf.getvalue()


async def attach_voicemail(message: EmailMessage, wav: Path) -> None:
    """MP3 for phones; the WAV itself if it cannot be converted (a mail never waits on ffmpeg)."""
    if not wav.exists():
        log.error("voicemail file missing path=%s", wav)
        return
    try:
        data = await asyncio.to_thread(wav_to_mp3, wav)
    except (CouldntDecodeError, CouldntEncodeError, OSError) as e:
        log.warning("voicemail not converted to mp3 path=%s error=%s", wav, e)
        message.add_attachment(wav.read_bytes(), maintype="audio", subtype="wav", filename=wav.name)
        return
    message.add_attachment(data, maintype="audio", subtype="mpeg", filename=wav.with_suffix(".mp3").name)


def _message_id(key: str, sender: str) -> str:
    domain = sender.rsplit("@", 1)[-1] or "localhost"
    return make_msgid(idstring=key.replace(":", ".").replace("/", "."), domain=domain)


async def build_mail(server: MailServer, batch: list[OutboxMessage]) -> EmailMessage:
    first = batch[0]
    language = first.payload.get("language", "ru")
    message = EmailMessage()
    if "subject" in first.payload:          # an alert (ivr.notify.alerts): its text is made already
        subject, body = first.payload["subject"], first.payload["body"]
    elif first.channel == "digest":
        subject, body = render_digest([m.payload["facts"] for m in batch], language)
    else:
        subject, body = render_single(first.payload["facts"], language)
    message["Subject"] = subject
    message["From"] = server.sender
    message["To"] = first.target
    message["Date"] = formatdate(localtime=False)
    # The outbox key: a receiver (or a test) can see a repeat after a crash for what it is.
    message["Message-ID"] = _message_id(first.key, server.sender)
    message["X-IVR-Key"] = first.key
    message.set_content(body)
    for m in batch:
        voicemail = m.payload.get("facts", {}).get("voicemail")
        if voicemail:
            await attach_voicemail(message, Path(voicemail))
    return message


class MailDelivery:
    def __init__(self, server: MailServer):
        self.server = server

    async def __call__(self, batch: list[OutboxMessage]) -> None:
        message = await build_mail(self.server, batch)
        s = self.server
        try:
            await aiosmtplib.send(message, hostname=s.host, port=s.port, username=s.user or None,
                                  password=s.password or None, start_tls=s.starttls, timeout=s.timeout)
        except aiosmtplib.SMTPException as e:
            raise DeliveryFailed(f"smtp {s.host}:{s.port}: {e}") from None
