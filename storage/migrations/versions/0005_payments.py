"""payments, charges and balances from suppliers' billing files

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 01:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'billing_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('supplier', sa.String(length=20), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('entry_date', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),  # thousandths, as storage.types.Milli
        sa.Column('occurrence', sa.Integer(), nullable=False),
        sa.Column('imported_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('supplier', 'number', 'entry_date', 'kind', 'amount', 'occurrence',
                            name='uq_billing_entries_key'),
    )
    with op.batch_alter_table('billing_entries', schema=None) as batch_op:
        batch_op.create_index('ix_billing_entries_account', ['supplier', 'number', 'entry_date'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('billing_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_billing_entries_account')
    op.drop_table('billing_entries')
