"""Russian and English for the console, the mails and the CLI's human output.

Texts are Babel catalogues, `ivr/locale/<lang>/LC_MESSAGES/messages.po` (`make translations` extracts
new strings and updates them). They are compiled in memory the first time a language is used, so a
fresh clone needs no build step. The language of the task at hand is a context variable: a console
request sets the user's (or the plan's), and every `_()` below it uses it. Dates and numbers are
written as people of that language write them, in the time zone given (the plan's).
"""
from __future__ import annotations

import contextvars
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, tzinfo
from io import BytesIO
from pathlib import Path

from babel.dates import format_date, format_datetime, format_skeleton, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("ru", "en")
NAMES = {"ru": "Русский", "en": "English"}
DEFAULT = "en"
_language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT)


def supported(language: str | None) -> str:
    """`language` if the console speaks it, else English."""
    return language if language in LANGUAGES else DEFAULT


@functools.cache
def translations(language: str) -> NullTranslations:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def current() -> str:
    return _language.get()


def use(language: str) -> None:
    """The language of this task (a request, a mail, a CLI run) from now on."""
    _language.set(supported(language))


@contextmanager
def language(code: str) -> Iterator[None]:
    token = _language.set(supported(code))
    try:
        yield
    finally:
        _language.reset(token)


def gettext(message: str, **values: object) -> str:
    text = translations(current()).gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
    text = translations(current()).ngettext(singular, plural, n)
    return text % {"num": n, **values}


_ = gettext


def lazy(message: str) -> str:
    """Marks a text for extraction where it is defined; it is translated where it is shown."""
    return message


# ----- dates and numbers -----

def when(value: datetime | None, tz: tzinfo) -> str:
    """Date and time: 06.12.2026, 13:10 in Russian, 12/6/26, 1:10 PM in English."""
    return format_datetime(value, "short", tzinfo=tz, locale=current()) if value else ""


def day_time(value: datetime | None, tz: tzinfo) -> str:
    """Day and time without the year: 6 дек. 13:10 / Dec 6 1:10 PM."""
    if value is None:
        return ""
    local = value.astimezone(tz)
    return f"{format_skeleton('MMMd', local, locale=current())} {format_time(local, 'short', locale=current())}"


def clock_time(value: datetime | None, tz: tzinfo) -> str:
    """Time of day with seconds: 13:10:05 / 1:10:05 PM."""
    return format_time(value.astimezone(tz), "medium", locale=current()) if value else ""


def day(value: date | datetime, tz: tzinfo | None = None) -> str:
    """A long date with the weekday: воскресенье, 6 декабря 2026 г. / Sunday, December 6, 2026."""
    if isinstance(value, datetime) and tz is not None:
        value = value.astimezone(tz)
    return format_date(value, "full", locale=current())


def duration(seconds: float) -> str:
    """A length of time in its largest unit: 45 с, 3 мин / 45 sec, 3 min."""
    return format_timedelta(timedelta(seconds=seconds), threshold=1.5, format="short", locale=current())


def short_day(value: date) -> str:
    """A date in the medium form: 25 нояб. 2026 г. / Nov 25, 2026."""
    return format_date(value, "medium", locale=current())


def number(value: float, digits: int = 0) -> str:
    return format_decimal(round(value, digits), format=f"#,##0.{'0' * digits}" if digits else "#,##0",
                          locale=current())


def percent(share: float) -> str:
    return format_percent(share, locale=current())


def weekday_names() -> list[str]:
    """Monday first, abbreviated."""
    from babel.dates import get_day_names
    names = get_day_names("abbreviated", locale=current())
    return [names[i] for i in range(7)]
