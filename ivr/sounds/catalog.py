"""Where a prompt name is found, in the order an admin expects:

1. sounds/<lang>/<name>             the admin's own recordings (`ivr sounds import`)
2. sounds/generated/<lang>/<name>   spoken at build time from sounds/prompts.yaml
3. <asterisk data dir>/sounds/<dir>/<name>   Asterisk's core sounds ("digits/1", "hello-world")

`resolve` returns the path without extension, as Asterisk's `sound:` media wants it, and as the
Asterisk process sees it: with the bundled Asterisk (a chroot) the root filesystem prefix is removed.
Directory listings are cached and re-read only when the directory's mtime changes, so a lookup per
prompt costs one stat() and a dict lookup, and a fresh recording is seen without a restart.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping

from ivr.config import Settings

# Core-sound directory per language: the Debian package puts Russian under ru_RU_f_IvrvoiceRU.
CORE_SOUND_DIRS: Mapping[str, str] = {"en": "en", "ru": "ru_RU_f_IvrvoiceRU"}
# Extensions of Asterisk's format modules; Asterisk itself picks the cheapest one to play.
PLAYABLE_EXTENSIONS = frozenset(
    {"wav", "gsm", "ulaw", "ul", "alaw", "al", "sln", "raw", "g722", "wav16", "sln16", "g729", "WAV"})

_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$")


class PromptCatalog:
    def __init__(self, settings: Settings, core_dirs: Mapping[str, str] | None = None) -> None:
        sounds = settings.path(settings.sounds_dir)
        self._own = sounds
        self._generated = sounds / "generated"
        self._core = settings.data_dir / "sounds"
        self._core_dirs = {**CORE_SOUND_DIRS, **(core_dirs or {})}
        # directory -> (mtime_ns, stems of playable files)
        self._listings: dict[str, tuple[int, frozenset[str]]] = {}
        self._dirs: dict[str, tuple[str, ...]] = {}      # language -> its search directories

    def search_dirs(self, language: str) -> tuple[str, ...]:
        # Plain strings, made once per language: pathlib's joins cost more than the lookup itself.
        dirs = self._dirs.get(language)
        if dirs is None:
            dirs = self._dirs[language] = (
                str(self._own / language), str(self._generated / language),
                str(self._core / self._core_dirs.get(language, language)))
        return dirs

    def resolve(self, name: str, language: str) -> str | None:
        """Absolute media path without extension for Asterisk, or None when nothing matches."""
        if not _NAME.match(name) or "/" in language or language.startswith("."):
            return None
        sub, _, stem = name.rpartition("/")
        for base in self.search_dirs(language):
            directory = f"{base}/{sub}" if sub else base
            if stem in self._stems(directory):
                # Asterisk runs with host paths (no chroot), so the host path is what it plays.
                return f"{directory}/{stem}"
        return None

    def exists(self, name: str, language: str) -> bool:
        return self.resolve(name, language) is not None

    def _stems(self, directory: str) -> frozenset[str]:
        try:
            mtime = os.stat(directory).st_mtime_ns
        except OSError:
            self._listings.pop(directory, None)
            return frozenset()
        cached = self._listings.get(directory)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        stems = set()
        with os.scandir(directory) as entries:
            for entry in entries:
                stem, dot, ext = entry.name.rpartition(".")
                if dot and stem and ext in PLAYABLE_EXTENSIONS and not stem.startswith("."):
                    stems.add(stem)
        listing = frozenset(stems)
        self._listings[directory] = (mtime, listing)
        return listing
