"""Minutes and calls per trunk and carrier, and the estimated saving (in all, per trunk and per carrier)
against sending everything through the default trunk, from Asterisk's call detail records (cdr-csv/Master.csv).

An outbound attempt is a record whose dialled channel is a trunk's ("PJSIP/trunk-mts-0000002a");
the staff dialplan keeps the E.164 number in its userfield, and so do legs the service starts.
Prices are the plan's current ones.
"""
from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ivr.asterisk.process import Instance
from ivr.plan.model import Plan
from ivr.routing.choose import price
from ivr.routing.daily import DayUse, day_use
from ivr.routing.lookup import CarrierLookup
from ivr.routing.numbers import InvalidNumber, classify
from ivr.routing.choose import route_trunk
from ivr.routing.router import Router, trunk_of_channel

# cdr_csv's columns with loguniqueid and loguserfield (cdr.conf rendered by ivr).
COLUMNS = ("accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
           "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
           "uniqueid", "userfield")


@dataclass(frozen=True)
class Attempt:
    trunk: str
    number: str          # E.164
    start: datetime      # aware (UTC)
    answered: bool
    seconds: int         # billed: from answer to end
    caller: str = ""     # a staff phone's channel ("PJSIP/101-0000001b") for its own dials


def cdr_path(instance: Instance) -> Path:
    return instance.root / "log" / "cdr-csv" / "Master.csv"


def read_attempts(lines: Iterable[str]) -> Iterator[Attempt]:
    """One attempt per trunk channel. Staff dials: the phone's record dials the trunk. Legs the
    service starts (hunt, call-back, campaign) carry the number in their own userfield: their own
    record has the trunk channel as `channel`, and the record of the call they are bridged to names
    it as `dstchannel`; the two are one attempt (the longer record counts). Channel names start over
    when Asterisk restarts, so only records of one name that overlap in time are one attempt."""
    seen: dict[str, list[tuple[Attempt, datetime]]] = {}
    for row in csv.reader(lines):
        if len(row) < len(COLUMNS):
            continue
        rec = dict(zip(COLUMNS, row))
        # Asterisk joins both parties' userfields with ";" (";+79161234567" for a leg the service bridged)
        number = next((part for part in reversed(rec["userfield"].split(";")) if part.startswith("+")), "")
        if not number:
            continue
        channel = rec["dstchannel"]
        trunk = trunk_of_channel(channel)
        if trunk is None and not channel:
            channel = rec["channel"]
            trunk = trunk_of_channel(channel)
        if trunk is None:
            continue
        try:
            start = datetime.strptime(rec["start"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
            end = datetime.strptime(rec["end"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
            seconds = int(rec["billsec"] or 0)
        except ValueError:
            continue
        # A staff phone's own dial; not an inbound trunk call bridged to a leg the service started.
        caller = rec["channel"] if channel == rec["dstchannel"] and not trunk_of_channel(rec["channel"]) else ""
        attempt = Attempt(trunk, number, start, rec["disposition"] == "ANSWERED", seconds, caller)
        same = seen.setdefault(channel, [])
        for i, (earlier, earlier_end) in enumerate(same):
            if start <= earlier_end and earlier.start <= end:             # the same attempt
                if (attempt.answered, attempt.seconds) > (earlier.answered, earlier.seconds):
                    same[i] = (attempt, max(end, earlier_end))
                break
        else:
            same.append((attempt, end))
    for same in seen.values():
        yield from (attempt for attempt, _ in same)


def read_day_use(cdr: Path, since: datetime) -> DayUse:
    """The toll-fraud guard's count since `since` from the call records."""
    try:
        with cdr.open(encoding="utf-8", errors="replace", newline="") as f:
            return day_use(read_attempts(f), since)
    except FileNotFoundError:                  # no call has ended since Asterisk was installed
        return DayUse()


def summarize(attempts: Iterable[Attempt], plan: Plan, lookup: CarrierLookup,
              since: datetime | None = None, until: datetime | None = None) -> dict:
    """Attempts started in [since, until); a row's saving is what its calls cost less than through
    the default trunk."""
    trunks = {name: route_trunk(t) for name, t in plan.trunks.items()}
    default = plan.default_trunk or None
    by_trunk: dict[str, dict] = {}
    by_carrier: dict[str, dict] = {}
    cost = default_cost = 0.0
    for a in attempts:
        if (since is not None and a.start < since) or (until is not None and a.start >= until):
            continue
        try:
            info = lookup.lookup(a.number)
            dest_class = classify(a.number, plan.country or "RU")
        except InvalidNumber:
            continue
        minutes = a.seconds / 60
        for table, key in ((by_trunk, a.trunk), (by_carrier, info.carrier or "unknown")):
            row = table.setdefault(key, {"calls": 0, "answered": 0, "minutes": 0.0, "cost": 0.0, "saving": 0.0})
            row["calls"] += 1
            row["answered"] += int(a.answered)
            row["minutes"] += minutes
        here = price(trunks[a.trunk], info.carrier, dest_class) if a.trunk in trunks else None
        there = price(trunks[default], info.carrier, dest_class) if default in trunks else None
        if here is not None:
            spent = here[0] * minutes
            instead = (there[0] if there is not None else here[0]) * minutes
            cost += spent
            default_cost += instead
            for row in (by_trunk[a.trunk], by_carrier[info.carrier or "unknown"]):
                row["cost"] += spent
                row["saving"] += instead - spent

    def rows(table: dict[str, dict], key: str) -> list[dict]:
        return [{key: k, **{f: round(v, 2) if isinstance(v, float) else v for f, v in row.items()}}
                for k, row in sorted(table.items())]

    return {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None,
            "default_trunk": default,
            "trunks": rows(by_trunk, "trunk"), "carriers": rows(by_carrier, "carrier"),
            "cost": round(cost, 2), "default_cost": round(default_cost, 2),
            "saving": round(default_cost - cost, 2)}


def trunk_report(path: Path, plan: Plan, lookup: CarrierLookup, since: datetime | None = None,
                 until: datetime | None = None) -> dict:
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as f:
            return summarize(read_attempts(f), plan, lookup, since, until)
    except FileNotFoundError:
        return summarize((), plan, lookup, since, until)


class TrunkReports:
    """The trunk report of the PBX's CDR file on the router's live plan and lookup; the file is read
    in a thread, off the event loop."""

    def __init__(self, cdr: Path, router: Router):
        self.cdr, self.router = cdr, router

    async def between(self, since: datetime | None, until: datetime | None) -> dict:
        return await asyncio.to_thread(trunk_report, self.cdr, self.router.plan(), self.router.lookup, since, until)
