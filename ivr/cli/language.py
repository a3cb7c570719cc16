"""The language of the `ivr` command's human output: `--lang`, else the environment as gettext reads
it (LANGUAGE, LC_ALL, LC_MESSAGES, LANG; C and POSIX say nothing), else the plan's language, else
English. JSON output is the same in every language."""
from __future__ import annotations

from collections.abc import Mapping

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

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


def plan_language(settings: Settings) -> str | None:
    """The plan's `language:` read without validating the plan (a broken plan still gets its problems
    printed in its own language)."""
    try:
        with settings.path(settings.plan_file).open(encoding="utf-8") as f:
            data = YAML(typ="safe", pure=True).load(f)
    except (OSError, UnicodeError, YAMLError):
        return None
    language = data.get("language") if isinstance(data, dict) else None
    return language if language in i18n.LANGUAGES else None


def choose(given: str | None, env: Mapping[str, str], settings: Settings) -> str:
    if given:
        if given not in i18n.LANGUAGES:
            raise SystemExit(f"ivr: --lang must be one of {', '.join(i18n.LANGUAGES)}, not '{given}'")
        return given
    return from_environment(env) or plan_language(settings) or i18n.DEFAULT
