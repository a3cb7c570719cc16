"""Generated word forms and route/stop names: spoken once, cached, recordings win."""
from __future__ import annotations

import json
import shutil

import pytest

from ivr.config import Settings
from ivr.say import SayError, TextSpeaker, generate_words, recorded_name
from ivr.say import speech
from ivr.sounds import generate
from ivr.sounds.catalog import PromptCatalog

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng missing")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(sounds_dir=str(tmp_path / "sounds"))


@pytest.fixture
def spoken(monkeypatch) -> list[str]:
    """Count espeak-ng runs (the real one still runs)."""
    calls: list[str] = []
    real = generate.speak

    def counting(text, language):
        calls.append(text)
        return real(text, language)
    monkeypatch.setattr(generate, "speak", counting)
    return calls


@pytest.mark.parametrize("text, name", [
    ("Новосибирск, автовокзал", "novosibirsk-avtovokzal"),
    ("Щёлково  Ъ-Ь", "shchelkovo"),
    ("Platform 3", "platform-3"),
    ("!!!", ""),
])
def test_recorded_name(text, name):
    assert recorded_name(text) == name


@needs_espeak
def test_speak_text_synthesises_once_and_caches(settings, spoken):
    speaker = TextSpeaker(settings)
    name = speaker.speak_text("Барнаул, автовокзал", "ru")
    assert name.startswith("tts/")
    assert PromptCatalog(settings).exists(name, "ru")
    wav = settings.path(settings.sounds_dir) / "generated" / "ru" / f"{name}.wav"
    before = wav.stat().st_mtime_ns
    assert TextSpeaker(settings).speak_text(" Барнаул,  автовокзал ", "ru") == name
    assert spoken == ["Барнаул, автовокзал"]
    assert wav.stat().st_mtime_ns == before
    other = speaker.speak_text("Бийск", "ru")
    assert other != name and spoken[-1] == "Бийск"
    # the same text in another language is another voice, so another file
    assert speaker.speak_text("Барнаул, автовокзал", "en") != name


def test_recording_wins_over_synthesis(settings, spoken):
    own = settings.path(settings.sounds_dir) / "ru" / "novosibirsk.wav16"
    own.parent.mkdir(parents=True)
    own.write_bytes(b"RIFF")
    assert TextSpeaker(settings).speak_text("Новосибирск", "ru") == "novosibirsk"
    assert spoken == []


def test_empty_text_and_bad_language_are_errors(settings):
    with pytest.raises(SayError):
        TextSpeaker(settings).speak_text("  ", "ru")
    with pytest.raises(SayError):
        TextSpeaker(settings).speak_text("Бийск", "../ru")


@needs_espeak
def test_generate_words_speaks_only_what_changed(settings, spoken, monkeypatch):
    monkeypatch.setattr(speech, "WORDS", {"ru": {"say/seat": "место", "say/bus": "автобус"}})
    first = generate_words(settings, languages=("ru",))
    assert sorted(first.generated) == ["ru/say/bus", "ru/say/seat"]
    assert spoken == ["место", "автобус"]
    second = generate_words(settings, languages=("ru",))
    assert second.generated == () and len(second.unchanged) == 2
    monkeypatch.setattr(speech, "WORDS", {"ru": {"say/seat": "сиденье"}})
    third = generate_words(settings, languages=("ru",))
    assert third.generated == ("ru/say/seat",)
    out = settings.path(settings.sounds_dir) / "generated" / "ru" / "say"
    assert not (out / "bus.wav").exists() and (out / "seat.wav16").exists()
    assert set(json.loads((out / "manifest.json").read_text())) == {"say/seat"}
