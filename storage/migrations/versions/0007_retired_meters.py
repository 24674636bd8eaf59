"""meters missing from a later register are kept, marked retired

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 00:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('meters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('meters', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
