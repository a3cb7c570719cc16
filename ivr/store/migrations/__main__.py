"""Write a new migration from the changes in ivr/store/models.py:

    .venv/bin/python -m ivr.store.migrations "add missed calls"

It compares the models with a scratch SQLite database brought to the current head, and writes
versions/NNNN_<message>.py. Read the result before keeping it (see README).
"""
from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from ivr.store.db import alembic_config, open_database


async def write_revision(message: str) -> None:
    config = alembic_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    rev_id = f"{int(head or 0) + 1:04d}"
    with tempfile.TemporaryDirectory() as tmp:
        db = await open_database(f"sqlite+aiosqlite:///{Path(tmp) / 'scratch.db'}")
        try:
            async with db.engine.connect() as conn:
                await conn.run_sync(_revision, config, message, rev_id)
        finally:
            await db.close()


def _revision(connection: Connection, config, message: str, rev_id: str) -> None:  # type: ignore[no-untyped-def]
    config.attributes["connection"] = connection
    command.revision(config, message, autogenerate=True, rev_id=rev_id)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ivr.store.migrations", description=__doc__)
    parser.add_argument("message", help="what the migration does, e.g. 'add missed calls'")
    asyncio.run(write_revision(parser.parse_args().message))


if __name__ == "__main__":
    main()
