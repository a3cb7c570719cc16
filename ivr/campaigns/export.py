"""A campaign's rows as CSV (one line per passenger, with the answer when there is one): the same
file from `ivr campaign export`, the API and the console."""
from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from ivr.campaigns.model import Attempt, Row

EXPORT_COLUMNS = ("name", "phone", "trip_id", "route", "departure", "seat", "bus", "platform", "language",
                  "timezone", "status", "result", "attempts", "digit", "answered_at")


def write_export(out: TextIO, rows: Iterable[Row], attempts: Iterable[Attempt]) -> None:
    answers = {a.row_id: a for a in attempts if a.answer}
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for r in rows:
        p, a = r.passenger, answers.get(r.id)
        writer.writerow([p.name, p.phone, p.trip_id, p.route, p.departure.isoformat() if p.departure else "",
                         p.seat, p.bus, p.platform, p.language, r.timezone, r.status, r.result, r.attempts,
                         a.digit if a else "", a.answered_at.isoformat() if a and a.answered_at else ""])
