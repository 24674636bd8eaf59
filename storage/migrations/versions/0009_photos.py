"""kept meter photos: a record per photo, its bytes in the photo store; readings name theirs in evidence

Before, a reading's evidence was the platform's handle of the picture (a Telegram file id, a Viber media URL):
nothing the operator could fetch, and a handle to the resident's picture outside the bot's control. Cleared.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 03:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'photos',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=True),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_index('ix_photos_resident_id', 'photos', ['resident_id'], unique=False)
    op.create_index('ix_photos_received_at', 'photos', ['received_at'], unique=False)
    op.execute("UPDATE readings SET evidence = NULL WHERE evidence IS NOT NULL")
    op.create_index('ix_readings_evidence', 'readings', ['evidence'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_readings_evidence', table_name='readings')
    op.drop_index('ix_photos_received_at', table_name='photos')
    op.drop_index('ix_photos_resident_id', table_name='photos')
    op.drop_table('photos')
