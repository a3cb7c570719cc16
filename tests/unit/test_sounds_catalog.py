"""Prompt lookup: own recordings, then generated prompts, then Asterisk's core sounds."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from ivr.config import Settings
from ivr.sounds.catalog import PromptCatalog


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")


@pytest.fixture
def tree(tmp_path) -> tuple[Settings, Path, Path]:
    sounds, data = tmp_path / "sounds", tmp_path / "asterisk"
    touch(sounds / "ru" / "greeting.wav")
    touch(sounds / "ru" / "greeting.wav16")
    touch(sounds / "generated" / "ru" / "greeting.wav")
    touch(sounds / "generated" / "ru" / "menu.wav")
    touch(sounds / "generated" / "en" / "menu.wav16")
    touch(data / "sounds" / "ru_RU_f_IvrvoiceRU" / "menu.gsm")
    touch(data / "sounds" / "ru_RU_f_IvrvoiceRU" / "digits" / "1.ulaw")
    touch(data / "sounds" / "ru_RU_f_IvrvoiceRU" / "vm-goodbye.sln16")
    touch(data / "sounds" / "en" / "hello-world.gsm")
    touch(data / "sounds" / "en" / "digits" / "2.g722")
    touch(data / "sounds" / "en" / "readme.txt")
    settings = Settings(sounds_dir=str(sounds), asterisk_mode="system", asterisk_data_dir=str(data))
    return settings, sounds, data


def test_own_recording_wins_then_generated_then_core(tree):
    settings, sounds, data = tree
    cat = PromptCatalog(settings)
    assert cat.resolve("greeting", "ru") == str(sounds / "ru" / "greeting")
    assert cat.resolve("menu", "ru") == str(sounds / "generated" / "ru" / "menu")
    assert cat.resolve("vm-goodbye", "ru") == str(data / "sounds/ru_RU_f_IvrvoiceRU/vm-goodbye")
    assert cat.resolve("menu", "en") == str(sounds / "generated" / "en" / "menu")
    assert cat.resolve("hello-world", "en") == str(data / "sounds/en/hello-world")


def test_core_sounds_in_subfolders_and_any_playable_extension(tree):
    settings, _, data = tree
    cat = PromptCatalog(settings)
    assert cat.resolve("digits/1", "ru") == str(data / "sounds/ru_RU_f_IvrvoiceRU/digits/1")
    assert cat.resolve("digits/2", "en") == str(data / "sounds/en/digits/2")
    assert cat.exists("digits/2", "en") and not cat.exists("digits/2", "ru")


def test_missing_and_unplayable_are_none(tree):
    settings, _, _ = tree
    cat = PromptCatalog(settings)
    assert cat.resolve("nothing", "ru") is None
    assert cat.resolve("readme", "en") is None          # .txt is not a sound
    assert cat.resolve("hello-world", "ru") is None     # languages do not fall back to each other
    assert cat.resolve("greeting", "de") is None        # no such language directory at all
    assert not cat.exists("nothing", "en")


@pytest.mark.parametrize("name", ["../ru/greeting", "/etc/passwd", "digits//1", "", ".hidden", "a\\b"])
def test_names_cannot_escape_the_sound_directories(tree, name):
    settings, sounds, _ = tree
    touch(sounds / ".hidden.wav")
    assert PromptCatalog(settings).resolve(name, "ru") is None
    assert PromptCatalog(settings).resolve("greeting", "../ru") is None


def test_language_directory_map_can_be_overridden(tree):
    settings, _, data = tree
    touch(data / "sounds" / "ru" / "hello-world.wav")
    assert PromptCatalog(settings).resolve("hello-world", "ru") is None
    cat = PromptCatalog(settings, core_dirs={"ru": "ru"})
    assert cat.resolve("hello-world", "ru") == str(data / "sounds/ru/hello-world")


def test_new_recording_is_seen_without_a_restart(tree):
    settings, sounds, _ = tree
    cat = PromptCatalog(settings)
    assert cat.resolve("holiday", "ru") is None
    touch(sounds / "ru" / "holiday.wav")
    # make the directory's mtime differ even on coarse-grained filesystems
    st = os.stat(sounds / "ru")
    os.utime(sounds / "ru", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert cat.resolve("holiday", "ru") == str(sounds / "ru" / "holiday")
    (sounds / "ru" / "holiday.wav").unlink()
    os.utime(sounds / "ru", ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert cat.resolve("holiday", "ru") is None


def test_listing_is_cached_between_lookups(tree, monkeypatch):
    settings, _, _ = tree
    cat = PromptCatalog(settings)
    assert cat.exists("menu", "ru")
    calls = []
    real = os.scandir
    monkeypatch.setattr(os, "scandir", lambda p: calls.append(p) or real(p))
    for _ in range(100):
        assert cat.exists("menu", "ru") and cat.exists("greeting", "ru")
    assert calls == []


def test_bundled_asterisk_plays_core_sounds_by_their_host_path(tmp_path):
    # The bundled Asterisk runs from the root filesystem without chroot: it opens host paths.
    rootfs = tmp_path / "rootfs"
    touch(rootfs / "usr/share/asterisk/sounds/en/hello-world.gsm")
    settings = Settings(sounds_dir=str(tmp_path / "sounds"), asterisk_mode="bundled",
                        asterisk_rootfs=str(rootfs))
    assert PromptCatalog(settings).resolve("hello-world", "en") == \
        str(rootfs / "usr/share/asterisk/sounds/en/hello-world")
