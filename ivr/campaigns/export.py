"""A campaign's rows as a spreadsheet for people: headers and result names in their language,
times local (the departure as its ticket prints it, the rest in the plan's zone, to the minute),
with the passenger's own zone (their calling hours),
as `;`-separated CSV with a BOM or as XLSX. The passenger columns are the import template's, so
an export can be imported again."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.campaigns import sheets
from ivr.campaigns.importer import template_header, template_rows
from ivr.campaigns.model import Attempt, Row
from ivr.campaigns.progress import STATUS_LABELS, label

FORMATS = ("csv", "xlsx")
LANGUAGES = ("ru", "en")
_RESULT_COLUMNS = {"en": ("passenger's time zone", "status", "result", "attempts", "digit", "answered at",
                          "next call"),
                   "ru": ("часовой пояс пассажира", "статус", "результат", "попыток", "нажата цифра",
                          "ответ получен", "следующий звонок")}
_TIME = {"ru": "%d.%m.%Y %H:%M", "en": "%Y-%m-%d %H:%M"}


def export_table(rows: Iterable[Row], attempts: Iterable[Attempt], plan_zone: str, lang: str
                 ) -> tuple[list[str], list[list[object]]]:
    lang = lang if lang in LANGUAGES else "en"
    fmt, zone = _TIME[lang], ZoneInfo(plan_zone)

    def at(t: datetime | None, tz: ZoneInfo = zone) -> str:
        return t.astimezone(tz).strftime(fmt) if t else ""

    answers = {a.row_id: a for a in attempts if a.answer}
    out: list[list[object]] = []
    for r in rows:
        p, a = r.passenger, answers.get(r.id)
        trip_zone = p.timezone or plan_zone
        out.append([p.name, p.phone, p.trip_id, p.route, at(p.departure, ZoneInfo(trip_zone)), trip_zone,
                    p.seat, p.bus, p.platform, p.language, r.timezone,
                    STATUS_LABELS[lang].get(r.status, r.status), label(r.result, lang) if r.result else "",
                    r.attempts, a.digit if a else "", at(a.answer_at if a else None),
                    at(r.next_at) if r.status in ("ready", "calling") else ""])
    return [*template_header(lang), *_RESULT_COLUMNS[lang]], out


def export_file(rows: Iterable[Row], attempts: Iterable[Attempt], plan_zone: str, lang: str, fmt: str,
                title: str = "campaign") -> bytes:
    header, table = export_table(rows, attempts, plan_zone, lang)
    return sheets.write_xlsx(header, table, title) if fmt == "xlsx" else sheets.write_csv(header, table)


def template_file(lang: str, fmt: str) -> bytes:
    """The import template: the header in `lang` and one example passenger."""
    header = template_header(lang)
    return sheets.write_xlsx(header, template_rows(lang), "passengers") if fmt == "xlsx" \
        else sheets.write_csv(header, template_rows(lang))
