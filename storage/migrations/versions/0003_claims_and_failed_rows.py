"""claims with leases on the inbox and the outbox; rows set aside as failed

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 22:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=12), nullable=False, server_default='pending'))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('progress', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('error', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('retried_at', sa.DateTime(), nullable=True))
        batch_op.drop_index('ix_outbox_channel')
        batch_op.create_index('ix_outbox_claimable', ['channel', 'status', 'id'], unique=False)
        batch_op.create_index('ix_outbox_chat', ['channel', 'chat_id', 'id'], unique=False)
        batch_op.create_index('ix_outbox_claimed_by', ['claimed_by'], unique=False)
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('error', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_inbound_claimed_by', ['claimed_by'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_claimed_by')
        for name in ('failed_at', 'error', 'attempts', 'claimed_until', 'claimed_by'):
            batch_op.drop_column(name)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_claimed_by')
        batch_op.drop_index('ix_outbox_chat')
        batch_op.drop_index('ix_outbox_claimable')
        batch_op.create_index('ix_outbox_channel', ['channel', 'created_at'], unique=False)
        for name in ('retried_at', 'failed_at', 'error', 'attempts', 'progress', 'status', 'claimed_until',
                     'claimed_by'):
            batch_op.drop_column(name)
