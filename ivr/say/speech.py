"""Sounds the say module speaks with espeak-ng, each generated once and kept:

- sounds/generated/<lang>/say/   word forms the core sounds lack (ru.WORDS, en.WORDS), with a
  manifest.json of their hashes, so a re-run speaks only what changed;
- sounds/generated/<lang>/tts/   route and stop names with no recording, named by a hash of
  text, voice and pipeline, so one text is synthesised once and a voice change makes new files.

Both reuse the prompt generator's speech and processing (ivr.sounds.generate), so they sound
like the sample plan's generated prompts.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ivr.config import Settings
from ivr.say import en, ru
from ivr.say.errors import SayError
from ivr.sounds import convert, generate
from ivr.sounds.catalog import PLAYABLE_EXTENSIONS

WORDS: Mapping[str, Mapping[str, str]] = {"ru": ru.WORDS, "en": en.WORDS}
MANIFEST = "manifest.json"

_TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
     "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"]))


@dataclass(frozen=True)
class WordsResult:
    generated: tuple[str, ...]   # "<lang>/<name>" spoken this run
    unchanged: tuple[str, ...]


def _write_atomically(text: str, language: str, base: Path) -> None:
    """Speak text into base.wav/.wav16; a reader never sees half a file."""
    samples, rate = generate.speak(text, language)
    prepared, _gain = convert.prepare(samples, rate, source=f"speech {text!r}")
    base.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base.parent, prefix=".tmp-") as tmp:
        for written in convert.write_prompt(prepared, rate, Path(tmp) / base.name):
            os.replace(written, base.parent / written.name)


def generate_words(settings: Settings, *, languages: tuple[str, ...] = ("ru", "en"),
                   force: bool = False) -> WordsResult:
    """Speak every word form of WORDS that is missing or changed (run by `make sounds`)."""
    engine = generate.espeak_version()
    generated: list[str] = []
    unchanged: list[str] = []
    for lang in languages:
        out_dir = settings.path(settings.sounds_dir) / "generated" / lang
        manifest_path = out_dir / "say" / MANIFEST
        try:
            old: dict[str, str] = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        new: dict[str, str] = {}
        for name, text in WORDS[lang].items():
            new[name] = generate.prompt_hash(generate.PromptText(name, lang, text), engine)
            base = out_dir / name
            if not force and old.get(name) == new[name] and all(
                    base.with_name(base.name + ext).exists() for ext in convert.EXTENSIONS):
                unchanged.append(f"{lang}/{name}")
                continue
            _write_atomically(text, lang, base)
            generated.append(f"{lang}/{name}")
        for gone in set(old) - set(new):
            for ext in convert.EXTENSIONS:
                (out_dir / f"{gone}{ext}").unlink(missing_ok=True)
        manifest_path.parent.mkdir(parents=True, exist_ok=True)
        manifest_path.write_text(json.dumps(new, indent=1, sort_keys=True, ensure_ascii=False),
                                 encoding="utf-8")
    return WordsResult(tuple(generated), tuple(unchanged))


def recorded_name(text: str) -> str:
    """The prompt name an admin imports a recording of `text` under: lower case, Cyrillic
    transliterated, words joined by '-' ("Новосибирск, автовокзал" -> novosibirsk-avtovokzal)."""
    latin = "".join(_TRANSLIT.get(c, c) for c in text.lower())
    return "-".join(re.findall(r"[a-z0-9]+", latin))


class TextSpeaker:
    """Names and places as prompts: the admin's recording if there is one, else speech."""

    def __init__(self, settings: Settings) -> None:
        self._sounds = settings.path(settings.sounds_dir)
        self._engine: str | None = None

    def speak_text(self, text: str, language: str) -> str:
        """A prompt name for `text`. Blocking (espeak-ng runs on a cache miss): call it from
        async code through asyncio.to_thread."""
        text = " ".join(text.split())
        if not text:
            raise SayError("nothing to say: the text is empty")
        if not convert.LANG_RE.match(language):
            raise SayError(f"{language!r} is not a language code like ru or en")
        own = recorded_name(text)
        if own and self._has_recording(own, language):
            return own
        if self._engine is None:
            self._engine = generate.espeak_version()
        # The hash covers text, voice, speed, engine version and pipeline.
        name = f"tts/{generate.prompt_hash(generate.PromptText('tts', language, text), self._engine)}"
        base = self._sounds / "generated" / language / name
        if not all(base.with_name(base.name + ext).exists() for ext in convert.EXTENSIONS):
            _write_atomically(text, language, base)
        return name

    def _has_recording(self, name: str, language: str) -> bool:
        directory = self._sounds / language
        return any((directory / f"{name}.{ext}").is_file() for ext in PLAYABLE_EXTENSIONS)


def speak_text(text: str, language: str, settings: Settings) -> str:
    return TextSpeaker(settings).speak_text(text, language)
