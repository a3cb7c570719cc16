"""outbound campaigns: campaigns, rows, attempts, do-not-call list

Revision ID: 0002_campaigns
Revises: 0002_queues
Create Date: 2026-11-24 12:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002_campaigns'
down_revision = '0002_queues'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('profile', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('dispatcher', sa.String(length=128), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.CheckConstraint("status IN ('draft', 'running', 'paused', 'cancelled', 'done')",
                       name=op.f('ck_campaigns_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')))
    op.create_table('campaign_rows',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('raw_phone', sa.String(length=64), nullable=False),
    sa.Column('trip_id', sa.String(length=64), nullable=False),
    sa.Column('route', sa.String(length=200), nullable=False),
    sa.Column('departure', TS, nullable=True),
    sa.Column('seat', sa.String(length=64), nullable=False),
    sa.Column('bus', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('result', sa.String(length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_at', TS, nullable=True),
    sa.Column('claimed_by', sa.String(length=128), nullable=False),
    sa.Column('claim_token', sa.String(length=64), nullable=False),
    sa.Column('idem_key', sa.String(length=128), nullable=True),
    sa.Column('source_rows', JSON, nullable=False),
    sa.Column('updated_at', TS, nullable=False),
    sa.CheckConstraint("status IN ('ready', 'calling', 'done', 'cancelled')",
                       name=op.f('ck_campaign_rows_status')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ondelete='CASCADE',
                            name=op.f('fk_campaign_rows_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_rows')),
    sa.UniqueConstraint('campaign_id', 'idem_key', name='uq_campaign_rows_campaign_id_idem_key'))
    op.create_index('ix_campaign_rows_due', 'campaign_rows', ['campaign_id', 'status', 'next_at'])
    op.create_table('campaign_attempts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('row_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('channel_id', sa.String(length=128), nullable=False),
    sa.Column('trunk', sa.String(length=64), nullable=False),
    sa.Column('instance', sa.String(length=128), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('answered_at', TS, nullable=True),
    sa.Column('ended_at', TS, nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('digit', sa.String(length=4), nullable=False),
    sa.Column('answer', sa.String(length=32), nullable=False),
    sa.Column('answer_at', TS, nullable=True),
    sa.ForeignKeyConstraint(['row_id'], ['campaign_rows.id'], ondelete='CASCADE',
                            name=op.f('fk_campaign_attempts_row_id_campaign_rows')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_attempts')),
    sa.UniqueConstraint('channel_id', name=op.f('uq_campaign_attempts_channel_id')))
    op.create_index('ix_campaign_attempts_row_id', 'campaign_attempts', ['row_id'])
    op.create_index('ix_campaign_attempts_open', 'campaign_attempts', ['instance', 'ended_at'])
    op.create_table('do_not_call',
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('added_at', TS, nullable=False),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_do_not_call')))


def downgrade() -> None:
    op.drop_table('do_not_call')
    op.drop_index('ix_campaign_attempts_open', table_name='campaign_attempts')
    op.drop_index('ix_campaign_attempts_row_id', table_name='campaign_attempts')
    op.drop_table('campaign_attempts')
    op.drop_index('ix_campaign_rows_due', table_name='campaign_rows')
    op.drop_table('campaign_rows')
    op.drop_table('campaigns')
