"""campaign row indexes for claiming: the due index covers the pick's order (id), and rows by phone
(a number added to the do-not-call list settles its rows at once instead of at every claim)

Revision ID: 0007_campaign_claim_indexes
Revises: 0006_campaign_done
"""
from __future__ import annotations

from alembic import op

revision = "0007_campaign_claim_indexes"
down_revision = "0006_campaign_done"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_campaign_rows_due", table_name="campaign_rows")
    op.create_index("ix_campaign_rows_due", "campaign_rows", ["campaign_id", "status", "next_at", "id"])
    op.create_index("ix_campaign_rows_phone", "campaign_rows", ["phone"])
    # Rows of numbers already on the list: the claim no longer settles them itself.
    op.execute("UPDATE campaign_rows SET status = 'done', result = 'do_not_call' "
               "WHERE status = 'ready' AND phone IN (SELECT number FROM do_not_call)")


def downgrade() -> None:
    op.drop_index("ix_campaign_rows_phone", table_name="campaign_rows")
    op.drop_index("ix_campaign_rows_due", table_name="campaign_rows")
    op.create_index("ix_campaign_rows_due", "campaign_rows", ["campaign_id", "status", "next_at"])
