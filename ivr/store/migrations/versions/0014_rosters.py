"""on-duty roster overrides; personal voicemail messages

Revision ID: 0014_rosters
Revises: 0013_staff
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_rosters"
down_revision = "0013_staff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_overrides",
        sa.Column("roster", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("extension", sa.String(length=16), nullable=False),
        sa.Column("changed_by", sa.String(length=128), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("roster", "day", name=op.f("pk_roster_overrides")),
    )
    op.create_table(
        "voicemail_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("box", sa.String(length=16), nullable=False),
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("caller_name", sa.String(length=200), nullable=False),
        sa.Column("recording", sa.String(length=200), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heard_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voicemail_messages")),
    )
    op.create_index("ix_voicemail_messages_box", "voicemail_messages", ["box"])


def downgrade() -> None:
    op.drop_index("ix_voicemail_messages_box", table_name="voicemail_messages")
    op.drop_table("voicemail_messages")
    op.drop_table("roster_overrides")
