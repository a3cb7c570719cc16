"""`ivr contacts`: list, add, remove, import and export contacts (CSV with a validation report)."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from ivr.clock import Clock
from ivr.config import Settings
from ivr.contacts.csvio import export_csv, import_csv
from ivr.contacts.store import ContactData, ContactStore
from ivr.errors import InvalidInput, IvrError
from ivr.i18n import _
from ivr.plan.loader import load_plan
from ivr.plan.model import Plan
from ivr.routing.numbers import normalize
from ivr.store.db import open_database

T = TypeVar("T")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("contacts", help="contacts: list, add, import/export CSV",
                                   description="Contacts: names on calls and missed calls, managers, VIPs.")
    parser.add_argument("--search", default="", help="part of a name, company or number")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=list_command)
    actions = parser.add_subparsers(dest="contacts_command", metavar="ACTION")
    add = actions.add_parser("add", help="add a contact")
    add.add_argument("name")
    add.add_argument("numbers", nargs="+", help="phone numbers as people write them")
    add.add_argument("--company", default="")
    add.add_argument("--manager", default="", help="responsible staff extension")
    add.add_argument("--vip", action="store_true")
    add.add_argument("--notes", default="")
    add.set_defaults(handler=add_command)
    remove = actions.add_parser("remove", help="delete a contact")
    remove.add_argument("id", type=int)
    remove.set_defaults(handler=remove_command)
    imp = actions.add_parser("import", help="import a CSV (id,name,numbers,company,manager,vip,notes)")
    imp.add_argument("file", help="CSV file, or - for standard input")
    imp.add_argument("--dry-run", action="store_true", help="check only, store nothing")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.set_defaults(handler=import_command)
    exp = actions.add_parser("export", help="write every contact as CSV")
    exp.add_argument("file", nargs="?", default="-", help="file (default: standard output)")
    exp.set_defaults(handler=export_command)


def _plan(settings: Settings) -> Plan | None:
    try:
        return load_plan(settings.path(settings.plan_file), secrets_path=settings.path(settings.secrets_file))
    except IvrError:
        return None


def _run(settings: Settings, work: Callable[[ContactStore], Awaitable[T]]) -> T:
    async def run() -> T:
        db = await open_database(settings.database_url, settings)
        try:
            return await work(ContactStore(db))
        finally:
            await db.close()
    return asyncio.run(run())


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    contacts = _run(settings, lambda s: s.list(search=args.search))
    if args.json:
        print(json.dumps([c.to_dict() for c in contacts], ensure_ascii=False, indent=2))
        return 0
    print("{:>5}  {:24}  {:32}  {:16}  {:5}  {}".format(_("id"), _("name"), _("numbers"), _("company"), _("mgr"),
                                                        "VIP"))
    for c in contacts:
        print(f"{c.id:>5}  {c.name[:24]:24}  {', '.join(c.numbers)[:32]:32}  {c.company[:16]:16}  "
              f"{c.manager:5}  {_('yes') if c.vip else ''}")
    return 0


def add_command(args: argparse.Namespace, settings: Settings) -> int:
    plan = _plan(settings)
    if args.manager and plan is not None and args.manager not in plan.staff:
        raise InvalidInput(_("--manager '%(ext)s' is not a staff extension of the plan", ext=args.manager))
    country = plan.country if plan else "RU"
    data = ContactData(name=args.name, numbers=tuple(normalize(n, country) for n in args.numbers),
                       company=args.company, manager=args.manager, vip=args.vip, notes=args.notes)
    now = Clock(settings.fixed_now()).now()
    contact = _run(settings, lambda s: s.add(data, now))
    print(_("contact %(id)s: %(name)s %(numbers)s", id=contact.id, name=contact.name,
            numbers=", ".join(contact.numbers)))
    return 0


def remove_command(args: argparse.Namespace, settings: Settings) -> int:
    _run(settings, lambda s: s.delete(args.id))
    print(_("deleted contact %(id)s", id=args.id))
    return 0


def import_command(args: argparse.Namespace, settings: Settings) -> int:
    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as e:
        raise InvalidInput(f"{args.file}: {e.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(_("%(file)s: not UTF-8 text (save the CSV as UTF-8)", file=args.file)) from None
    plan = _plan(settings)
    now = Clock(settings.fixed_now()).now()
    report = _run(settings, lambda s: import_csv(s, text, plan.country if plan else "RU", now,
                                                 staff=set(plan.staff) if plan else None, dry_run=args.dry_run))
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        counts = {"rows": report.rows, "new": report.created, "updated": report.updated,
                  "refused": len(report.refused_rows)}
        print(_("%(rows)s rows read: would import %(new)s new, %(updated)s updated, %(refused)s refused", **counts)
              if args.dry_run else
              _("%(rows)s rows read: imported %(new)s new, %(updated)s updated, %(refused)s refused", **counts))
        for problem in report.problems:
            print(f"  {problem}")
    # Refused rows make the command fail, so a script cannot miss them.
    return 1 if report.problems else 0


def export_command(args: argparse.Namespace, settings: Settings) -> int:
    text = export_csv(_run(settings, lambda s: s.list(limit=1_000_000)))
    if args.file == "-":
        sys.stdout.write(text)
    else:
        Path(args.file).write_text(text, encoding="utf-8")
        print(_("wrote %(file)s", file=args.file))
    return 0
