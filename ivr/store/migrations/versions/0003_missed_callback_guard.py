"""one running call-back per customer, across processes

Revision ID: 0003_missed_callback_guard
Revises: 0002_campaigns
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_missed_callback_guard"
down_revision = "0002_campaigns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "missed_active_callbacks",
        sa.Column("customer", sa.String(length=32), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("staff", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer", name=op.f("pk_missed_active_callbacks")),
    )


def downgrade() -> None:
    op.drop_table("missed_active_callbacks")
