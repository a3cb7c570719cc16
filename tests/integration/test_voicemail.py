"""Personal voicemail on real SIP: an internal call to a phone that does not answer (or is not
registered) leaves a message in the owner's box, the caller speaking a tone; the message is mailed
with its audio (aiosmtpd), the phone's lamp lights (a SIP NOTIFY seen by an independent UA,
ivr.testing.sip_lamp), and *97 from the own phone plays it and deletes it with 7. A customer's
call forwarded to the accountant ends in her box too. The plan is tests/integration/plans/office.yaml.
"""
from __future__ import annotations

import asyncio
import re
import time

import pytest

from conftest import NET, PBX_IP, plan_text
from ivr.notify.mailbox import Mailbox
from ivr.testing.audio import has_tone, tone_segments
from ivr.testing.sip_lamp import LampPhone
from ivr.testing.world import Behaviour, Leg, World
from test_missed import mailbox  # noqa: F401 (a fixture: the module's SMTP server)

TONE_HZ = 1000.0
SPEAKS = f"tone:{TONE_HZ:.0f}/20000"         # the caller's "voice": a steady 1 kHz tone
GREETING_SECONDS = 10.0                    # "the person at extension ... is unavailable ...", the beep
LAMP_IP = f"{NET}.6"
ACCOUNTS = "+74951110211"


async def office_service(service_process, stack_dir, mailbox: Mailbox, **overrides: str):
    """The service on the office plan, with its own database and a mail server (restarted only
    when it runs something else)."""
    home = stack_dir / "office"
    home.mkdir(exist_ok=True)
    (home / "office.yaml").write_text(plan_text("office.yaml"), encoding="utf-8")
    (home / "notifications.yaml").write_text(
        f"mail: {{host: 127.0.0.1, port: {mailbox.port}, from: ivr@test.example, timeout: 3}}\n"
        "retry_max_seconds: 2\n", encoding="utf-8")
    return await service_process.run_with(IVR_PLAN_FILE=str(home / "office.yaml"),
                                          IVR_DATABASE_URL=f"sqlite+aiosqlite:///{home}/office.db", **overrides)


@pytest.fixture
async def office(service_process, stack_dir, mailbox):
    return await office_service(service_process, stack_dir, mailbox)


async def speak_until(world: World, leg: Leg, seconds: float) -> None:
    """The caller speaks (a tone) from the answer on, and hangs up `seconds` after it."""
    await asyncio.wait_for(leg.answered.wait(), 10)
    await world.ari.play(leg.channel_id, [SPEAKS], world.new_id("voice"))
    await asyncio.sleep(seconds)
    await world.hangup(leg)
    await asyncio.wait_for(leg.ended.wait(), 5)


async def box(service, ext: str, count: int, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        answer = await service.get(f"/api/voicemail/{ext}")
        if len(answer["messages"]) == count or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.3)


def mails_to(mailbox: Mailbox, address: str) -> list:
    return [m for m in mailbox.snapshot() if m["To"] == address]


async def mail_to(mailbox: Mailbox, address: str, timeout: float = 20) -> object:
    deadline = time.monotonic() + timeout
    while not mails_to(mailbox, address):
        assert time.monotonic() < deadline, f"no mail to {address}: {[m['To'] for m in mailbox.snapshot()]}"
        await asyncio.sleep(0.3)
    return mails_to(mailbox, address)[-1]


def recording_of(pbx, name: str):
    return pbx.spool / "recording" / f"{name}.wav"


async def test_unregistered_phone_takes_a_message_mail_and_lamp(office, world, mailbox, pbx):
    world.reset()
    # 104 is off (not registered): the call goes to its box at once, not a 404.
    leg = await world.dial_from_phone("101", "104", record=True)
    await speak_until(world, leg, GREETING_SECONDS + 4.0)

    answer = await box(office, "104", 1)
    (message,) = answer["messages"]
    assert answer["new"] == 1 and message["caller"] == "101" and message["caller_name"] == "Hostess", answer
    assert 2.0 <= message["seconds"] < 6.0, message
    (record,) = [p for p in (pbx.spool / "recording" / "voicemail" / "box-104").glob("*.wav")]
    # The message holds the caller's voice, not the greeting.
    assert has_tone(record, TONE_HZ, 0.5, None, min_seconds=1.5)
    mail = await mail_to(mailbox, "accounts@test.example")
    assert "101" in mail["Subject"] and "*97" in mail.get_body().get_content(), mail["Subject"]
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() in ("audio/mpeg", "audio/wav") and len(attachment.get_content()) > 2000

    # The phone comes on: Asterisk tells it about the waiting message as it registers.
    lamp = LampPhone(LAMP_IP, PBX_IP, 5060, "104", "test-104-secret")
    await lamp.start()
    try:
        assert await lamp.register() == 200
        notify = await lamp.wait_lamp(True)
        assert notify.voice.startswith("1/"), notify
    finally:
        await lamp.stop()


async def test_unanswered_call_leaves_a_message_that_star97_plays_and_deletes(office, world, mailbox):
    world.reset()
    world.behaviours["102"] = Behaviour("ignore")          # rings, nobody there
    leg = await world.dial_from_phone("101", "102")
    ringing = next(p for p in await _incoming(world, "102"))
    await speak_until(world, leg, GREETING_SECONDS + 3.0 + 4.0)
    assert 2.5 < ringing.ring_seconds < 6.0, ringing.ring_seconds          # voicemail_rings: 3 s
    answer = await box(office, "102", 1)
    assert answer["new"] == 1, answer
    await mail_to(mailbox, "admin@test.example")

    # 102 listens: "you have 1 new ...", the message (the tone), then 7 deletes it.
    world.reset()
    listen = await world.dial_from_phone("102", "*97", record=True)
    await asyncio.wait_for(listen.answered.wait(), 10)
    await asyncio.sleep(8.0)                                  # the counts, then into the message
    await world.press(listen, "7")
    await asyncio.wait_for(listen.ended.wait(), 20)
    heard = await world.wait_recording(listen)
    tones = tone_segments(heard, TONE_HZ, min_seconds=1.0)
    assert tones and tones[0][0] < 8.0, tones                # the message played before the 7
    answer = await box(office, "102", 0)
    assert answer["messages"] == [] and answer["new"] == 0, answer


async def test_a_customer_forwarded_to_the_accountant_ends_in_her_box(office, world, mailbox, pbx):
    world.reset()
    caller = "+79163000501"
    before = len(mails_to(mailbox, "accounts@test.example"))
    leg = await world.call(ACCOUNTS, caller)        # 104 is off: the forward fails, her box takes it
    await speak_until(world, leg, GREETING_SECONDS + 4.0)
    answer = await box(office, "104", 2)
    assert [m["caller"] for m in answer["messages"] if m["new"]][-1] == caller, answer
    record = await office.call_record(caller)
    assert record["outcome"] == "voicemail", record
    assert any(s["kind"] == "voicemail_started" and s["data"].get("box") == "104" for s in record["steps"])
    deadline = time.monotonic() + 20
    while len(mails_to(mailbox, "accounts@test.example")) <= before:
        assert time.monotonic() < deadline, "no mail for the second message"
        await asyncio.sleep(0.3)


async def _incoming(world: World, target: str, timeout: float = 10) -> list[Leg]:
    deadline = time.monotonic() + timeout
    while not [p for p in world.incoming if p.target == target]:
        assert time.monotonic() < deadline, f"{target} was not rung"
        await asyncio.sleep(0.05)
    return [p for p in world.incoming if p.target == target]


def hint_state(pbx, ext: str) -> str:
    found = re.search(r"State:\s*(\w+)", pbx.cli(f"core show hint {ext}"))
    return found.group(1) if found else ""


async def hint_becomes(pbx, ext: str, wanted, timeout: float = 5) -> str:
    """The hint's state once `wanted(state)` holds: Asterisk updates device states on its own thread,
    a moment after the API has answered."""
    deadline = time.monotonic() + timeout
    while not wanted(state := hint_state(pbx, ext)) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return state


async def test_do_not_disturb_shows_on_the_phones_lamp_and_sends_internal_calls_to_the_box(office, world, pbx):
    status, _ = await office.post("/api/staff/102/dnd", {"on": True})
    try:
        assert status == 200
        assert await hint_becomes(pbx, "102", lambda s: s == "Busy") == "Busy", pbx.cli("core show hint 102")  # BLF: red
        world.reset()
        world.behaviours["102"] = Behaviour("answer")
        leg = await world.dial_from_phone("101", "102")
        await asyncio.wait_for(leg.answered.wait(), 5)           # the box answers at once
        await asyncio.sleep(1.0)
        await world.hangup(leg)
        assert not [p for p in world.incoming if p.target == "102"]          # 102 never rang
    finally:
        status, _ = await office.post("/api/staff/102/dnd", {"on": False})
    assert status == 200 and await hint_becomes(pbx, "102", lambda s: s != "Busy") != "Busy", \
        pbx.cli("core show hint 102")


async def test_the_owner_records_a_greeting_with_star98_and_callers_hear_it(office, world, pbx):
    greeting_hz = 600.0
    world.reset()
    record = await world.dial_from_phone("102", "*98")
    await asyncio.wait_for(record.answered.wait(), 10)
    await world.ari.play(record.channel_id, [f"tone:{greeting_hz:.0f}/20000"], world.new_id("voice"))
    await asyncio.sleep(1.0 + 5.7 + 0.5 + 3.0)         # a pause, "record your message after the tone", beep
    await world.hangup(record)
    greeting = pbx.spool / "recording" / "voicemail" / "box-102" / "greeting.wav"
    try:
        deadline = time.monotonic() + 5
        while not (greeting.exists() and greeting.stat().st_size > 16000):
            assert time.monotonic() < deadline, "no greeting recorded"
            await asyncio.sleep(0.2)

        world.reset()
        world.behaviours["102"] = Behaviour("ignore")
        caller = await world.dial_from_phone("101", "102", record=True)
        await asyncio.wait_for(caller.answered.wait(), 10)            # after the rings, the box
        await asyncio.sleep(3.0)
        await world.hangup(caller)                                    # before the beep: no message
        heard = await world.wait_recording(caller)
        answered = caller.answered_at - caller.invited_at                # the recording starts at the dial
        assert has_tone(heard, greeting_hz, answered, answered + 3.0, min_seconds=1.5), \
            tone_segments(heard, greeting_hz)                           # her own words, not the default
        assert (await box(office, "102", 0))["messages"] == []
    finally:
        greeting.unlink(missing_ok=True)
