"""the chat of each inbound event while it waits, so one resident's steps run in order across processes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 01:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chat', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_inbound_chat', ['channel', 'chat'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_chat')
        batch_op.drop_column('chat')
