"""Personal voicemail boxes: a message kept (row, lamp, mail through the outbox), too short ones
dropped, counts, heard and deleted messages, the greeting the caller hears."""
from __future__ import annotations

import wave
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from ivr.calls.message import Message
from ivr.errors import NotFound
from ivr.notify.outbox import Outbox
from ivr.plan.model import Staff
from ivr.voicemail.boxes import NoMailbox, VoicemailBoxes

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
PLAN = SimpleNamespace(language="ru", timezone="Europe/Moscow",
                       staff={"102": Staff("102", "Anna", "x", mail="anna@example.com"), "103": Staff("103", "Oleg", "x")},
                       mailboxes=["102"])


class Ari:
    def __init__(self):
        self.originated: list[str] = []

    async def originate(self, endpoint: str, channel_id: str, app_args: str, **kw) -> None:
        self.originated.append(endpoint)


def speech(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x10\x00" * int(8000 * seconds))


@pytest.fixture
def boxes(db, tmp_path):
    kicks = []
    made = VoicemailBoxes(db, Ari(), tmp_path, lambda: NOW, lambda: PLAN, lambda: kicks.append(1))
    made.kicks = kicks
    return made


async def test_a_message_is_kept_lit_and_mailed(boxes, db):
    name = boxes.new_recording("102")
    speech(boxes.path(name), 3.0)
    kept = await boxes.keep("102", Message(name, 0.0, "hung_up"), "101", "Hostess")
    assert kept is not None and kept.new and abs(kept.seconds - 3.0) < 0.01
    assert await boxes.counts("102") == (1, 0)
    assert boxes.ari.originated[-1] == "Local/102_1_0@ivr-mwi/n"
    (mail,) = await Outbox(db).list()
    assert mail.target == "anna@example.com" and mail.key == f"voicemail:{name}" and boxes.kicks
    assert "Hostess <101>" in mail.payload["subject"] and mail.payload["facts"]["voicemail"] == str(boxes.path(name))

    await boxes.heard("102", kept.id)
    assert await boxes.counts("102") == (0, 1) and boxes.ari.originated[-1] == "Local/102_0_1@ivr-mwi/n"
    await boxes.delete("102", kept.id)
    assert await boxes.messages("102") == [] and not boxes.path(name).exists()
    assert boxes.ari.originated[-1] == "Local/102_0_0@ivr-mwi/n"
    with pytest.raises(NotFound):
        await boxes.delete("102", kept.id)


async def test_too_short_a_message_is_dropped_and_new_ones_come_first(boxes):
    short = boxes.new_recording("102")
    speech(boxes.path(short), 0.4)
    assert await boxes.keep("102", Message(short, 0.0, "hung_up"), "101", "") is None
    assert not boxes.path(short).exists() and await boxes.counts("102") == (0, 0)
    first, second = boxes.new_recording("102"), boxes.new_recording("102")
    for name in (first, second):
        speech(boxes.path(name), 2.0)
    old = await boxes.keep("102", Message(first, 2.0, "done"), "101", "")
    new = await boxes.keep("102", Message(second, 2.0, "done"), "103", "")
    await boxes.heard("102", old.id)
    assert [m.id for m in await boxes.messages("102")] == [new.id, old.id]


def test_greeting_and_boxes(boxes):
    assert boxes.greeting("102") == ["vm-theperson", "digits:102", "vm-isunavail", "vm-intro"]
    speech(boxes.path(boxes.greeting_name("102")), 1.0)
    assert boxes.greeting("102") == ["recording:voicemail/box-102/greeting"]
    assert boxes.owner("102") == "anna@example.com"
    with pytest.raises(NoMailbox, match="103"):
        boxes.owner("103")
