"""Every prompt name the say module returns exists: in Asterisk's real core sounds (the bundled
root filesystem, present after `make setup`) or among the word forms generate_words speaks."""
from __future__ import annotations

import shutil
from datetime import date, datetime, time, timedelta

import pytest

from ivr.config import Settings
from ivr.say import (SayError, generate_words, say_bus, say_date, say_datetime, say_digits, say_number,
                     say_ordinal, say_platform, say_seat, say_time)
from ivr.say.speech import WORDS
from ivr.sounds.catalog import PromptCatalog

ROOTFS_SOUNDS = Settings().data_dir / "sounds"
pytestmark = [
    pytest.mark.skipif(not (ROOTFS_SOUNDS / "ru_RU_f_IvrvoiceRU" / "digits").is_dir(),
                       reason="core sounds not installed: run `make setup`"),
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng missing: `make setup`"),
]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> PromptCatalog:
    settings = Settings(sounds_dir=str(tmp_path_factory.mktemp("sounds")))
    generate_words(settings)
    return PromptCatalog(settings)


def _all_sequences(lang: str):
    for n in [*range(0, 1101), 1999, 2000, 2001, 2021, 2026, 11_000, 21_000, 99_999, 101_000,
              1_000_000, 2_500_000, 25_000_001, 2_000_000_000, 999_999_999_999, -42]:
        for gender in ("m", "f", "n"):
            yield say_number(n, lang, gender=gender)
    for n in [*range(1, 1101), 1999, 2000, 2001, 2026, 5000, 21_000]:
        for gender in ("m", "f", "n"):
            for case in ("nom", "gen"):
                try:
                    yield say_ordinal(n, lang, gender=gender, case=case)
                except SayError:   # a Russian ordinal like 200th has no sound: see test_say_ru
                    continue
    day = date(2026, 1, 1)
    for i in range(366):
        yield say_date(day + timedelta(days=i), lang, year=True)
    for minute in range(24 * 60):
        yield say_time(time(minute // 60, minute % 60), lang)
    yield say_datetime(datetime(2026, 11, 25, 9, 30), lang)
    for n in range(1, 120):
        yield say_seat(n, lang)
        yield say_bus(n, lang)
        yield say_platform(n, lang)
    yield say_digits("0123456789*#abcxyz-.+/", lang)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_name_is_in_the_catalogue(catalog, lang):
    names = {name for seq in _all_sequences(lang) for name in seq}
    missing = sorted(name for name in names if not catalog.exists(name, lang))
    assert not missing, f"{lang}: not in the catalogue: {missing}"
    # the check has teeth: a made-up name is not found
    assert not catalog.exists("digits/h-25", lang)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_core_names_come_from_core_sounds_and_generated_only_when_missing(catalog, lang):
    core = ROOTFS_SOUNDS / ("ru_RU_f_IvrvoiceRU" if lang == "ru" else "en")
    for seq in (say_datetime(datetime(2026, 11, 25, 9, 30), lang), say_number(2021, lang)):
        for name in seq:
            if not name.startswith("say/"):
                assert catalog.resolve(name, lang).startswith(str(core)), name
    # a generated word form never shadows a core sound of the same language
    for name in WORDS[lang]:
        stem = name.removeprefix("say/")
        assert not list((core / "digits").glob(f"{stem}.*")), f"{name} exists as digits/{stem}"
