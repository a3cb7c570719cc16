"""Russian and English for the console, the mails and the CLI's human output.

Texts are Babel catalogues, `ivr/locale/<lang>/LC_MESSAGES/messages.po` (`make translations` extracts
new strings and updates them). They are compiled the first time a language is used, so a fresh
clone needs no build step, and the compiled catalogue is kept beside them in __pycache__ (like
Python's .pyc, keyed by the .po's content; skipped where that is read-only) so that a command's
next run reads it with the standard library's gettext instead of loading Babel's reader. The language of the task at hand is a context variable: a console
request sets the user's (or the plan's), and every `_()` below it uses it. Dates and numbers are
written as people of that language write them, in the time zone given (the plan's).
"""
from __future__ import annotations

import contextvars
import functools
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta, tzinfo
from gettext import GNUTranslations, NullTranslations
from io import BytesIO
from pathlib import Path

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
    try:
        source = path.read_bytes()
    except FileNotFoundError:
        return NullTranslations()
    kept = path.parent / "__pycache__" / f"messages.{hashlib.sha256(source).hexdigest()[:20]}.mo"
    try:
        return GNUTranslations(BytesIO(kept.read_bytes()))
    except OSError:                   # not compiled yet (or unreadable): compile, and keep it if we may
        compiled = _compile(source, language)
        _keep(kept, compiled)
        return GNUTranslations(BytesIO(compiled))


def _compile(po: bytes, language: str) -> bytes:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    compiled = BytesIO()
    write_mo(compiled, read_po(BytesIO(po), locale=language))
    return compiled.getvalue()


def _keep(path: Path, compiled: bytes) -> None:
    """Write the compiled catalogue atomically and drop those of older .po versions; a directory
    we may not write to is left alone."""
    try:
        path.parent.mkdir(exist_ok=True)
        fd, scratch = tempfile.mkstemp(prefix=".messages-", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(compiled)
        os.replace(scratch, path)
    except OSError:
        return
    for old in path.parent.glob("messages.*.mo"):
        if old != path:
            with suppress(OSError):
                old.unlink()


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
# Babel is imported where it is used: a command printing plain messages needs none of it.

def when(value: datetime | None, tz: tzinfo) -> str:
    """Date and time: 06.12.2026, 13:10 in Russian, 12/6/26, 1:10 PM in English."""
    from babel.dates import format_datetime
    return format_datetime(value, "short", tzinfo=tz, locale=current()) if value else ""


def day_time(value: datetime | None, tz: tzinfo) -> str:
    """Day and time without the year: 6 дек. 13:10 / Dec 6 1:10 PM."""
    from babel.dates import format_skeleton, format_time
    if value is None:
        return ""
    local = value.astimezone(tz)
    return f"{format_skeleton('MMMd', local, locale=current())} {format_time(local, 'short', locale=current())}"


def clock_time(value: datetime | None, tz: tzinfo) -> str:
    """Time of day with seconds: 13:10:05 / 1:10:05 PM."""
    from babel.dates import format_time
    return format_time(value.astimezone(tz), "medium", locale=current()) if value else ""


def day(value: date | datetime, tz: tzinfo | None = None) -> str:
    """A long date with the weekday: воскресенье, 6 декабря 2026 г. / Sunday, December 6, 2026."""
    from babel.dates import format_date
    if isinstance(value, datetime) and tz is not None:
        value = value.astimezone(tz)
    return format_date(value, "full", locale=current())


def duration(seconds: float) -> str:
    """A length of time in its largest unit: 45 с, 3 мин / 45 sec, 3 min."""
    from babel.dates import format_timedelta
    return format_timedelta(timedelta(seconds=seconds), threshold=1.5, format="short", locale=current())


def short_day(value: date) -> str:
    """A date in the medium form: 25 нояб. 2026 г. / Nov 25, 2026."""
    from babel.dates import format_date
    return format_date(value, "medium", locale=current())


def number(value: float, digits: int = 0) -> str:
    from babel.numbers import format_decimal
    return format_decimal(round(value, digits), format=f"#,##0.{'0' * digits}" if digits else "#,##0",
                          locale=current())


def percent(share: float) -> str:
    from babel.numbers import format_percent
    return format_percent(share, locale=current())


def weekday_names() -> list[str]:
    """Monday first, abbreviated."""
    from babel.dates import get_day_names
    names = get_day_names("abbreviated", locale=current())
    return [names[i] for i in range(7)]
