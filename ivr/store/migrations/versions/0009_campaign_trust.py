"""campaign rows keep the time zone of the trip's departure stop (the ticket's time)

Revision ID: 0009_campaign_trust
Revises: 0007_campaign_claim_indexes
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_campaign_trust"
down_revision = "0008_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # "" = the plan's zone (rows imported before trips carried their own)
    with op.batch_alter_table("campaign_rows") as batch:
        batch.add_column(sa.Column("trip_timezone", sa.String(length=64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("campaign_rows") as batch:
        batch.drop_column("trip_timezone")
