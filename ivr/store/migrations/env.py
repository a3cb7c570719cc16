"""Alembic environment. `ivr.store.db` hands over an open connection (run under the async engine
with `run_sync`); offline mode (`--sql`) renders the DDL for a URL instead."""
from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import JSON, Connection

from ivr.store.models import Base, UTCDateTime

config = context.config


def render_item(kind: str, obj: Any, autogen: AutogenContext) -> str | Literal[False]:
    # Migrations must not import the models (they change); the stored type is a plain DateTime.
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    # Alembic renders JSONB's astext_type without importing it.
    if kind == "type" and isinstance(obj, JSON) and "postgresql" in obj._variant_mapping:
        autogen.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


def configure(**options: Any) -> None:
    context.configure(
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        render_item=render_item,
        **options,
    )
    with context.begin_transaction():
        context.run_migrations()


connection: Connection | None = config.attributes.get("connection")
if connection is not None:
    configure(connection=connection)
elif context.is_offline_mode():
    configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
else:
    raise RuntimeError("open the database with ivr.store.open_database(), which runs the migrations")
