"""`ivr backup FILE` and `ivr restore FILE` (ivr/store/backup.py says what a backup holds)."""
from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from ivr.asterisk.render import pbx_instance
from ivr.config import Settings
from ivr.i18n import _
from ivr.store.backup import backup, restore
from ivr.store.db import Database, open_database


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("backup", help="database, configuration, voicemail and recordings index to FILE",
                              description="Write one tar.gz while the service runs (online).")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=cmd_backup)
    r = subparsers.add_parser("restore", help="fill a fresh install from a backup FILE",
                              description="Into a fresh install (an empty database_url), before the "
                                          "service first starts; the configuration files are written back.")
    r.add_argument("file", type=Path)
    r.set_defaults(handler=cmd_restore)


def _on_database(settings: Settings, work: Callable[[Database], Awaitable[dict[str, int]]]) -> dict[str, int]:
    async def run() -> dict[str, int]:
        db = await open_database(settings.database_url, settings)
        try:
            return await work(db)
        finally:
            await db.close()
    return asyncio.run(run())


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    recordings = pbx_instance(settings).spool / "recording"
    counts = _on_database(settings, lambda db: backup(db, settings, recordings, args.file))
    print(_("wrote %(file)s: %(rows)s rows in %(tables)s tables (calls %(calls)s, plan versions %(versions)s)",
            file=args.file, rows=sum(counts.values()), tables=len(counts), calls=counts.get("calls", 0),
            versions=counts.get("plan_versions", 0)))
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    counts = _on_database(settings, lambda db: restore(db, settings, args.file))
    print(_("restored %(file)s: %(rows)s rows (calls %(calls)s, plan versions %(versions)s); start the service to "
            "use it", file=args.file, rows=sum(counts.values()), calls=counts.get("calls", 0),
            versions=counts.get("plan_versions", 0)))
    return 0
