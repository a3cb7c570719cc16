"""`ivr backup FILE` / `ivr restore FILE`: one tar.gz with the database, the configuration, the kept
voicemail messages (the missed-call list's and the personal boxes') and an index of the recordings.

The database is read table by table inside one read transaction while the service runs (online on
SQLite and PostgreSQL alike) and written as JSON lines, so a backup of one backend restores into the
other. A restore goes into a fresh install: the schema is created by the migrations of the version
restoring, then the rows are inserted (columns a newer version added take their defaults).
"""
from __future__ import annotations

import io
import json
import tarfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text as sql_text

from ivr.config import Settings, settings_path
from ivr.errors import IvrError
from ivr.store.db import Database
from ivr.store.models import Base, MissedItemRow

FORMAT = 1


class BackupError(IvrError):
    error_id = "backup-error"


def config_files(settings: Settings) -> dict[str, Path]:
    """The configuration a backup carries, by its name in the archive."""
    plan = settings.path(settings.plan_file)
    return {"plan.yaml": plan, "secrets.yaml": settings.path(settings.secrets_file),
            "notifications.yaml": plan.parent / "notifications.yaml",
            "settings.yaml": settings_path()}


def _encode(value: Any) -> Any:
    return {"$dt": value.isoformat()} if isinstance(value, datetime) else value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$dt"}:
        return datetime.fromisoformat(value["$dt"])
    return value


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), int(time.time())
    tar.addfile(info, io.BytesIO(data))


async def backup(db: Database, settings: Settings, recordings: Path, target: Path) -> dict[str, int]:
    """Write the archive; returns rows per table."""
    counts: dict[str, int] = {}
    tmp = target.with_name(target.name + ".part")
    with tarfile.open(tmp, "w:gz") as tar:
        async with db.session() as session, session.begin():
            if db.dialect == "postgresql":      # one consistent snapshot across the tables
                await session.execute(sql_text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            for table in Base.metadata.sorted_tables:
                rows = (await session.execute(select(table))).mappings().all()
                lines = [json.dumps({k: _encode(v) for k, v in row.items()}, ensure_ascii=False) for row in rows]
                _add(tar, f"db/{table.name}.jsonl", ("\n".join(lines) + "\n").encode() if lines else b"")
                counts[table.name] = len(rows)
            revision = (await session.execute(sql_text("SELECT version_num FROM alembic_version"))).scalar()
        for name, path in config_files(settings).items():
            if path.is_file():
                tar.add(path, f"config/{name}")
        voicemail = settings.var / "voicemail"
        for path in sorted(voicemail.rglob("*")) if voicemail.is_dir() else ():
            if path.is_file():
                tar.add(path, f"voicemail/{path.relative_to(voicemail)}")
        # Personal voicemail boxes (messages and greetings) live among Asterisk's recordings.
        boxes = recordings / "voicemail"
        for path in sorted(boxes.rglob("*")) if boxes.is_dir() else ():
            if path.is_file():
                tar.add(path, f"boxes/{path.relative_to(boxes)}")
        index = [{"name": prefix + str(p.relative_to(root)), "bytes": p.stat().st_size, "mtime": p.stat().st_mtime}
                 for prefix, root in (("", recordings), ("calls/", settings.recordings)) if root.is_dir()
                 for p in sorted(root.rglob("*")) if p.is_file()]
        _add(tar, "recordings.json", json.dumps(index, indent=1).encode())
        manifest = {"format": FORMAT, "revision": revision, "dialect": db.dialect, "tables": counts,
                    "var": str(settings.var), "made_at": datetime.now().astimezone().isoformat()}
        _add(tar, "manifest.json", json.dumps(manifest, indent=1).encode())
    tmp.replace(target)
    return counts


async def restore(db: Database, settings: Settings, source: Path, recordings: Path | None = None) -> dict[str, int]:
    """Fill a fresh install from the archive; refuses a database that already holds data. `recordings`:
    Asterisk's recording directory, where the personal voicemail boxes go back."""
    try:
        tar = tarfile.open(source, "r:gz")
    except (OSError, tarfile.TarError) as e:
        raise BackupError(f"{source}: not a backup made by `ivr backup`: {e}") from None
    with tar:
        manifest = json.loads(_read(tar, "manifest.json", source))
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{source}: backup format {manifest.get('format')!r}, this version reads {FORMAT}")
        counts: dict[str, int] = {}
        async with db.session() as session, session.begin():
            for table in Base.metadata.sorted_tables:
                if await session.scalar(select(func.count()).select_from(table)):
                    raise BackupError(f"the database {db.url} already holds {table.name}: restore goes into a "
                                      "fresh install (a new database_url), before the service first starts")
            for table in Base.metadata.sorted_tables:
                member = f"db/{table.name}.jsonl"
                if member not in tar.getnames():
                    continue                     # a table newer than the backup
                known = {c.name for c in table.columns}
                rows = [{k: _decode(v) for k, v in json.loads(line).items() if k in known}
                        for line in _read(tar, member, source).splitlines() if line.strip()]
                if rows:
                    await session.execute(table.insert(), rows)
                counts[table.name] = len(rows)
            if db.dialect == "postgresql":      # serial ids go on after the restored ones
                for table in Base.metadata.sorted_tables:
                    if "id" in table.columns and table.columns["id"].autoincrement in (True, "auto") and counts.get(table.name):
                        await session.execute(sql_text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT max(id) FROM {table.name}))"))
            old_var, new_var = manifest.get("var", ""), str(settings.var)
            if old_var and old_var != new_var:  # kept voicemail moves with var/
                for row in (await session.scalars(select(MissedItemRow).where(MissedItemRow.voicemail != ""))).all():
                    if row.voicemail.startswith(old_var):
                        row.voicemail = new_var + row.voicemail[len(old_var):]
        for member in tar.getmembers():
            if not member.isfile():
                continue
            if member.name.startswith("voicemail/"):
                dest = settings.var / member.name
            elif member.name.startswith("boxes/"):
                dest = recordings / "voicemail" / member.name.removeprefix("boxes/") if recordings else None
            elif member.name.startswith("config/"):
                name = member.name.removeprefix("config/")
                dest = config_files(settings).get(name) if name != "settings.yaml" else \
                    settings.var / "settings.yaml.from-backup"
            else:
                continue
            if dest is None or ".." in Path(member.name).parts:
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(tar.extractfile(member).read())
        (settings.var / "recordings.json").write_bytes(_read(tar, "recordings.json", source).encode())
    return counts


def _read(tar: tarfile.TarFile, name: str, source: Path) -> str:
    try:
        return tar.extractfile(name).read().decode("utf-8")
    except (KeyError, AttributeError):
        raise BackupError(f"{source}: {name} is missing: not a backup made by `ivr backup`") from None
