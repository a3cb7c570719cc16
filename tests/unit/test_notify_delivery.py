"""Mail to a real SMTP server (aiosmtpd on 127.0.0.1), webhooks to a real HTTP receiver, and the
outbox worker between them: retries with backoff, exactly once, digests."""
from __future__ import annotations

import json
import wave
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from ivr.notify.config import MailServer, Webhook
from ivr.notify.mail import MailDelivery
from ivr.notify.mailbox import Mailbox
from ivr.notify.outbox import Outbox, OutboxWorker, backoff, enqueue
from ivr.notify.webhook import KEY_HEADER, SIGNATURE_HEADER, WebhookDelivery, sign, verify
from ivr.store import Database

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at


def facts(call_id: int, **extra) -> dict:
    base = {"item_id": 7, "call_id": call_id, "customer": "+79161000001", "contact_name": "Анна Иванова",
            "company_number": "+74951110000", "source": "main-line", "at": "2026-11-25T11:00:05+03:00",
            "reason": "abandoned_in_menu", "node": "main_menu", "short": False, "count": 1, "voicemail": "",
            "steps": ["enter", "played", "played", "digit", "caller_hung_up"], "link": "http://console/missed/7"}
    return {**base, **extra}


@pytest.fixture
def mailbox():
    box = Mailbox()
    box.start()
    yield box
    box.stop()


async def add(db: Database, key: str, channel: str, target: str, payload: dict, now: datetime = T0,
              due: datetime | None = None) -> bool:
    async with db.session() as session, session.begin():
        return await enqueue(session, key, channel, target, payload, now, due)


def test_backoff_doubles_up_to_the_cap():
    assert [backoff(n, 30) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


async def test_mail_reaches_smtp_with_its_fields_in_russian(db, mailbox):
    assert await add(db, "mail:call1:boss@example.com", "mail", "boss@example.com",
                     {"language": "ru", "facts": facts(1)})
    assert not await add(db, "mail:call1:boss@example.com", "mail", "boss@example.com", {})   # same key
    clock = FakeClock()
    worker = OutboxWorker(Outbox(db), {"mail": MailDelivery(MailServer("127.0.0.1", mailbox.port, "ivr@test"))},
                          clock.now)
    assert await worker.run_once() == 1
    (mail,) = await mailbox.wait_for(1)
    assert mail["To"] == "boss@example.com" and mail["From"] == "ivr@test"
    assert mail["X-IVR-Key"] == "mail:call1:boss@example.com"
    assert "+79161000001" in mail["Subject"] and "+74951110000" in mail["Subject"]
    body = mail.get_body().get_content()
    for text in ("Анна Иванова", "main-line", "25.11.2026, 11:00", "положил трубку в меню",
                 "Ход звонка: вход → сообщение → нажата клавиша → абонент положил трубку",
                 "http://console/missed/7"):
        assert text in body, text
    assert await worker.run_once() == 0                   # sent once, never again
    assert len(mailbox.snapshot()) == 1


async def test_english_mail_with_the_voicemail_as_mp3(db, mailbox, tmp_path):
    wav = tmp_path / "call3.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(b"\x00\x10" * 16000)
    await add(db, "mail:call3:a@example.com", "mail", "a@example.com",
              {"language": "en", "facts": facts(3, reason="voicemail", voicemail=str(wav))})
    worker = OutboxWorker(Outbox(db), {"mail": MailDelivery(MailServer("127.0.0.1", mailbox.port))}, FakeClock().now)
    await worker.run_once()
    (mail,) = await mailbox.wait_for(1)
    body = mail.get_body().get_content()
    assert "left a voicemail" in body and "Time: 11/25/26, 11:00\u202fAM" in body
    assert "Path of the call: entered → prompt played → key pressed → caller hung up" in body
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "audio/mpeg" and attachment.get_filename() == "call3.mp3"
    data = attachment.get_content()
    assert data[:3] == b"ID3" or data[0] == 0xFF                # an MP3 stream
    assert wav.exists()                                          # the WAV is kept


async def test_smtp_down_then_up_delivers_every_mail_exactly_once(db):
    box = Mailbox()
    box.start()
    port = box.port
    box.stop()                                                   # the server is down
    for i in range(3):
        await add(db, f"mail:call{i}:x@example.com", "mail", "x@example.com", {"language": "en", "facts": facts(i)})
    clock = FakeClock()
    worker = OutboxWorker(Outbox(db), {"mail": MailDelivery(MailServer("127.0.0.1", port, timeout=2))}, clock.now,
                          retry_max_seconds=60)
    assert await worker.run_once() == 0
    pending = await Outbox(db).list(pending=True)
    assert len(pending) == 3 and all(m.attempts == 1 and m.last_error for m in pending)
    assert all(m.due_at == T0 + timedelta(seconds=1) for m in pending)
    assert await worker.run_once() == 0                          # not due yet: no new attempt
    box = Mailbox(port=port)
    box.start()
    try:
        clock.at = T0 + timedelta(seconds=1)
        assert await worker.run_once() == 3
        assert await worker.run_once() == 0
        mails = await box.wait_for(3)
        assert sorted(m["X-IVR-Key"] for m in mails) == [f"mail:call{i}:x@example.com" for i in range(3)]
    finally:
        box.stop()
    assert await Outbox(db).list(pending=True) == []


async def test_digest_sends_one_mail_for_the_period(db, mailbox):
    due = T0 + timedelta(minutes=15)
    for i in range(3):
        await add(db, f"digest:call{i}:d@example.com", "digest", "d@example.com",
                  {"language": "en", "facts": facts(i, customer=f"+7916100000{i}")}, due=due)
    clock = FakeClock()
    worker = OutboxWorker(Outbox(db), {"digest": MailDelivery(MailServer("127.0.0.1", mailbox.port))}, clock.now)
    assert await worker.run_once() == 0
    clock.at = due
    assert await worker.run_once() == 3
    (mail,) = await mailbox.wait_for(1)
    assert mail["Subject"] == "Missed calls: 3"
    body = mail.get_body().get_content()
    assert all(f"+7916100000{i}" in body for i in range(3))


async def test_webhook_is_signed_and_retried_until_accepted(db):
    received: list[tuple[bytes, dict]] = []
    answers = [500, 200]

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.read(), dict(request.headers)))
        return web.Response(status=answers.pop(0))

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook"
    try:
        await add(db, "webhook:item1:call1:" + url, "webhook", url,
                  {"event": "missed", "item": {"id": 1}, "idempotency_key": "webhook:item1:call1:" + url})
        clock = FakeClock()
        worker = OutboxWorker(Outbox(db), {"webhook": WebhookDelivery((Webhook(url, "s3cret"),))}, clock.now)
        assert await worker.run_once() == 0                      # HTTP 500: kept for later
        clock.at += timedelta(seconds=1)
        assert await worker.run_once() == 1
    finally:
        await runner.cleanup()
    assert len(received) == 2
    body, headers = received[1]
    assert verify("s3cret", body, headers[SIGNATURE_HEADER])
    assert not verify("other", body, headers[SIGNATURE_HEADER])
    assert headers[KEY_HEADER] == received[0][1][KEY_HEADER] == "webhook:item1:call1:" + url
    assert json.loads(body)["event"] == "missed"


def test_signature_is_hmac_sha256_of_the_body():
    # The RFC 4231-style vector every HMAC library documents.
    assert sign("key", b"The quick brown fox jumps over the lazy dog") == \
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"


async def test_a_channel_without_delivery_waits_instead_of_dropping(db):
    await add(db, "mail:call9:x@example.com", "mail", "x@example.com", {"language": "en", "facts": facts(9)})
    worker = OutboxWorker(Outbox(db), {}, FakeClock().now)
    assert await worker.run_once() == 0
    (pending,) = await Outbox(db).list(pending=True)
    assert "no mail delivery" in pending.last_error


async def test_a_stop_while_a_mail_is_handed_over_still_marks_it_sent(db):
    """The service stopping (its jobs cancelled) while the mail server takes a message: the message is
    marked sent before the worker goes, so the next start does not send it a second time."""
    import asyncio
    await add(db, "mail:call9:x@example.com", "mail", "x@example.com", {"language": "en", "facts": facts(9)})
    taken, finish = asyncio.Event(), asyncio.Event()
    sent: list[str] = []

    async def slow_server(batch) -> None:            # the server has the message; its reply is slow
        taken.set()
        await finish.wait()
        sent.extend(m.key for m in batch)
    worker = OutboxWorker(Outbox(db), {"mail": slow_server}, FakeClock().now)
    running = asyncio.create_task(worker.run())
    await asyncio.wait_for(taken.wait(), 5)
    running.cancel()                                 # the stop arrives mid-delivery
    await asyncio.sleep(0.1)
    finish.set()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert sent == ["mail:call9:x@example.com"]
    assert await Outbox(db).list(pending=True) == []  # marked sent: nothing goes again at the next start
