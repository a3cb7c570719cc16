"""Alembic migrations of the service database; `python -m ivr.store.migrations MESSAGE` writes a new one."""
