"""The language of the `ivr` command's human output: `--lang`, else the environment as gettext reads
it (LANGUAGE, LC_ALL, LC_MESSAGES, LANG; C and POSIX say nothing), else the plan's language, else
English. JSON output is the same in every language."""
from __future__ import annotations

import re
from collections.abc import Mapping

from ivr import i18n
from ivr.config import Settings

ENVIRONMENT = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def from_environment(env: Mapping[str, str]) -> str | None:
    """The first language of the environment the console speaks: `ru_RU.UTF-8` → ru, `ru:en` → ru."""
    for name in ENVIRONMENT:
        value = env.get(name, "")
        if not value:
            continue
        for item in value.split(":"):
            code = item.split("_")[0].split(".")[0].lower()
            if code in i18n.LANGUAGES:
                return code
        if name != "LANGUAGE":       # LC_ALL=C means C, whatever LANG says
            return None
    return None


# `language: ru` at the start of a line (a top-level key), the value quoted or not.
_LANGUAGE = re.compile(r"^language:[ \t]*[\"']?([A-Za-z]+)[\"']?[ \t]*(?:#.*)?$", re.MULTILINE)


def plan_language(settings: Settings) -> str | None:
    """The plan's top-level `language:` found without parsing the plan (a broken plan still gets its
    problems printed in its own language, and a full parse cost a command a tenth of a second)."""
    try:
        text = settings.path(settings.plan_file).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeError):
        return None
    found = _LANGUAGE.search(text)
    return found.group(1) if found and found.group(1) in i18n.LANGUAGES else None


def choose(given: str | None, env: Mapping[str, str], settings: Settings) -> str:
    if given:
        if given not in i18n.LANGUAGES:
            raise SystemExit(f"ivr: --lang must be one of {', '.join(i18n.LANGUAGES)}, not '{given}'")
        return given
    return from_environment(env) or plan_language(settings) or i18n.DEFAULT
