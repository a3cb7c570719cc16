"""staff phones' do-not-disturb; the caller's display name with each call

Revision ID: 0013_staff
Revises: 0007_campaign_claim_indexes
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_staff"
down_revision = "0012_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_state",
        sa.Column("extension", sa.String(length=16), nullable=False),
        sa.Column("dnd", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=128), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("extension", name=op.f("pk_staff_state")),
    )
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("caller_name", sa.String(length=200), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("caller_name")
    op.drop_table("staff_state")
