"""missed-call list, contacts, notification outbox

Revision ID: 0002_missed
Revises: 0002_users
Create Date: 2026-11-24 12:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002_missed'
down_revision = '0002_users'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
PENDING = sa.text("status <> 'closed'")


def upgrade() -> None:
    op.create_table('missed_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('customer', sa.String(length=32), nullable=False),
    sa.Column('company_number', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('short', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('node', sa.String(length=128), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('voicemail', sa.String(length=512), nullable=False),
    sa.Column('taken_by', sa.String(length=128), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=128), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('close_reason', sa.String(length=64), nullable=False),
    sa.Column('callback_seconds', sa.Float(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'taken', 'closed')", name=op.f('ck_missed_items_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_missed_items'))
    )
    with op.batch_alter_table('missed_items', schema=None) as batch_op:
        batch_op.create_index('uq_missed_items_pending', ['customer', 'company_number'], unique=True,
                              sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.create_index('ix_missed_items_status_last_at', ['status', 'last_at'], unique=False)

    op.create_table('missed_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('by', sa.String(length=128), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('data', JSON, nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['missed_items.id'], name=op.f('fk_missed_events_item_id_missed_items'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_missed_events'))
    )
    with op.batch_alter_table('missed_events', schema=None) as batch_op:
        batch_op.create_index('ix_missed_events_item_id', ['item_id'], unique=False)

    op.create_table('call_reviews',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verdict', sa.String(length=32), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_reviews_call_id_calls'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('call_id', name=op.f('pk_call_reviews'))
    )
    # Calls that finished before the list existed are not news: mark them reviewed, or the first
    # start after the upgrade would mail about every one of them.
    op.execute("INSERT INTO call_reviews (call_id, reviewed_at, verdict) "
               "SELECT id, ended_at, 'before_missed_list' FROM calls WHERE ended_at IS NOT NULL")

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('target', sa.String(length=512), nullable=False),
    sa.Column('payload', JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("channel IN ('mail', 'digest', 'webhook')", name=op.f('ck_outbox_channel')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_pending_due', ['sent_at', 'due_at'], unique=False)

    op.create_table('contacts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=False),
    sa.Column('manager', sa.String(length=32), nullable=False),
    sa.Column('vip', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts'))
    )
    op.create_table('contact_numbers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_numbers_contact_id_contacts'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_numbers')),
    sa.UniqueConstraint('number', name=op.f('uq_contact_numbers_number'))
    )


def downgrade() -> None:
    op.drop_table('contact_numbers')
    op.drop_table('contacts')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending_due')
    op.drop_table('outbox')
    op.drop_table('call_reviews')
    with op.batch_alter_table('missed_events', schema=None) as batch_op:
        batch_op.drop_index('ix_missed_events_item_id')
    op.drop_table('missed_events')
    with op.batch_alter_table('missed_items', schema=None) as batch_op:
        batch_op.drop_index('ix_missed_items_status_last_at')
        batch_op.drop_index('uq_missed_items_pending', sqlite_where=PENDING, postgresql_where=PENDING)
    op.drop_table('missed_items')
