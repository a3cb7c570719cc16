"""campaign attempts remember the trunks that failed them (failover within one attempt)

Revision ID: 0005_campaign_failover
Revises: 0003_missed_callback_guard
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_campaign_failover"
down_revision = "0003_missed_callback_guard"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # attempts made before this revision tried one trunk: an empty list
    op.add_column("campaign_attempts", sa.Column("tried", JSON, nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("campaign_attempts") as batch:
        batch.drop_column("tried")
