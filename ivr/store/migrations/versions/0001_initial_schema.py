"""initial schema

Revision ID: 0001
Revises: -
Create Date: 2026-11-24 11:25:12.540481
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calls',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('channel_id', sa.String(length=128), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('caller', sa.String(length=32), nullable=False),
    sa.Column('company_number', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=False),
    sa.Column('plan_version', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=64), nullable=True),
    sa.Column('answered_by', sa.String(length=128), nullable=True),
    sa.Column('duration', sa.Float(), nullable=True),
    sa.Column('step_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint("direction IN ('inbound', 'outbound')", name=op.f('ck_calls_direction')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('channel_id', name=op.f('uq_calls_channel_id'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index('ix_calls_company_number_started_at', ['company_number', 'started_at'], unique=False)
        batch_op.create_index('ix_calls_ended_at', ['ended_at'], unique=False)
        batch_op.create_index('ix_calls_outcome', ['outcome'], unique=False)
        batch_op.create_index('ix_calls_started_at', ['started_at'], unique=False)

    op.create_table('plan_versions',
    sa.Column('version', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source_file', sa.String(length=512), nullable=False),
    sa.Column('checksum', sa.String(length=128), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('applied_by', sa.String(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_plan_versions'))
    )
    with op.batch_alter_table('plan_versions', schema=None) as batch_op:
        # At most one active version.
        batch_op.create_index('uq_plan_versions_active', ['active'], unique=True,
                              sqlite_where=sa.text('active'), postgresql_where=sa.text('active'))

    op.create_table('call_steps',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('node', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_steps_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_steps')),
    sa.UniqueConstraint('call_id', 'seq', name='uq_call_steps_call_id_seq')
    )


def downgrade() -> None:
    op.drop_table('call_steps')
    with op.batch_alter_table('plan_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_plan_versions_active',
                            sqlite_where=sa.text('active'), postgresql_where=sa.text('active'))

    op.drop_table('plan_versions')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_started_at')
        batch_op.drop_index('ix_calls_outcome')
        batch_op.drop_index('ix_calls_ended_at')
        batch_op.drop_index('ix_calls_company_number_started_at')

    op.drop_table('calls')
