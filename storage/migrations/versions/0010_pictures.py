"""pictures sent through Viber, kept in the database so that every process of the bot can serve them

Before, the process that sent a picture kept it in its memory: a load balancer that sent Viber's fetch to
another process got a 404 (only nginx's retry on 404 hid it), and a restart lost the pictures not yet fetched.
Each names its receiver, so that forget-me deletes what was sent to them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 05:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'pictures',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('external_id', sa.String(length=64), nullable=False),
        sa.Column('png', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_index('ix_pictures_created_at', 'pictures', ['created_at'], unique=False)
    op.create_index('ix_pictures_receiver', 'pictures', ['channel', 'external_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_pictures_receiver', table_name='pictures')
    op.drop_index('ix_pictures_created_at', table_name='pictures')
    op.drop_table('pictures')
