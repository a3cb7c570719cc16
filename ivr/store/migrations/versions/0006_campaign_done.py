"""campaign rows marked done by a person (who, when, answer)

Revision ID: 0006_campaign_done
Revises: 0005_campaign_failover
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_campaign_done"
down_revision = "0005_campaign_failover"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_marks",
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=32), nullable=False),
        sa.Column("marked_by", sa.String(length=128), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("in_flight", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["row_id"], ["campaign_rows.id"], ondelete="CASCADE",
                                name=op.f("fk_campaign_marks_row_id_campaign_rows")),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_campaign_marks")),
    )
    op.create_index(op.f("ix_campaign_marks_campaign_id"), "campaign_marks", ["campaign_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_campaign_marks_campaign_id"), table_name="campaign_marks")
    op.drop_table("campaign_marks")
