"""queues: agent states, call-back requests, queue entries for statistics

Revision ID: 0002_queues
Revises: 0002_missed
Create Date: 2026-11-24 12:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_queues'
down_revision = '0002_missed'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('queue_agents',
    sa.Column('extension', sa.String(length=16), nullable=False),
    sa.Column('logged_in', sa.Boolean(), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('extension', name=op.f('pk_queue_agents'))
    )
    op.create_table('queue_callbacks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('queue', sa.String(length=128), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('vip', sa.Boolean(), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_result', sa.String(length=32), nullable=False),
    sa.Column('agent', sa.String(length=16), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('waiting', 'calling', 'done', 'failed', 'cancelled')",
                       name=op.f('ck_queue_callbacks_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_callbacks'))
    )
    op.create_index('ix_queue_callbacks_status', 'queue_callbacks', ['status'], unique=False)
    op.create_table('queue_entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('queue', sa.String(length=128), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('caller', sa.String(length=32), nullable=False),
    sa.Column('vip', sa.Boolean(), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('wait_seconds', sa.Float(), nullable=False),
    sa.Column('agent', sa.String(length=16), nullable=False),
    sa.Column('talk_seconds', sa.Float(), nullable=False),
    sa.Column('service_level_seconds', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_entries'))
    )
    op.create_index('ix_queue_entries_queue_joined_at', 'queue_entries', ['queue', 'joined_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_queue_entries_queue_joined_at', table_name='queue_entries')
    op.drop_table('queue_entries')
    op.drop_index('ix_queue_callbacks_status', table_name='queue_callbacks')
    op.drop_table('queue_callbacks')
    op.drop_table('queue_agents')
