"""console: each user's language, and what an advert (a company number's source) cost over a period

Revision ID: 0012_console
Revises: 0007_campaign_claim_indexes
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_console"
down_revision = "0009_campaign_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # "" means the plan's language.
    op.add_column("users", sa.Column("language", sa.String(8), nullable=False, server_default=""))
    op.create_table(
        "ad_spend",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("entered_by", sa.String(64), nullable=False, server_default=""),
    )
    op.create_index("ix_ad_spend_source", "ad_spend", ["source", "first_day"])


def downgrade() -> None:
    op.drop_index("ix_ad_spend_source", table_name="ad_spend")
    op.drop_table("ad_spend")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")
