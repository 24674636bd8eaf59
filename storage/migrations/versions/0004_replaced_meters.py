"""a replaced meter's new serial, installation date and start reading on its reading

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 00:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('readings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('new_serial', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('new_installed', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('new_start', sa.BigInteger(), nullable=True))  # thousandths, as storage.types.Milli


def downgrade() -> None:
    with op.batch_alter_table('readings', schema=None) as batch_op:
        for name in ('new_start', 'new_installed', 'new_serial'):
            batch_op.drop_column(name)
