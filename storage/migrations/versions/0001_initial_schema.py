"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 01:03:02.936170
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier', sa.String(length=20), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('apartment', sa.String(length=20), nullable=False),
    sa.Column('last_payment', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('supplier', 'number')
    )
    op.create_table('inbound_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('handled_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'event_id')
    )
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_unhandled', ['channel', 'handled_at', 'id'], unique=False)

    op.create_table('link_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supplier', sa.String(length=20), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('link_failures', schema=None) as batch_op:
        batch_op.create_index('ix_link_failures_number_at', ['supplier', 'number', 'at'], unique=False)

    op.create_table('link_locks',
    sa.Column('supplier', sa.String(length=20), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('supplier', 'number')
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_channel', ['channel', 'created_at'], unique=False)

    op.create_table('residents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('reachable', sa.Boolean(), nullable=False),
    sa.Column('session', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'external_id')
    )
    op.create_table('links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('resident_id', 'account_id')
    )
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_links_account_id'), ['account_id'], unique=False)

    op.create_table('meters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=40), nullable=False),
    sa.Column('service', sa.String(length=20), nullable=False),
    sa.Column('zone', sa.String(length=8), nullable=False),
    sa.Column('last_reading', sa.BigInteger(), nullable=True),
    sa.Column('last_reading_date', sa.Date(), nullable=True),
    sa.Column('verification_due', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'serial', 'zone')
    )
    with op.batch_alter_table('meters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meters_account_id'), ['account_id'], unique=False)

    op.create_table('reminder_preferences',
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('supplier', sa.String(length=20), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resident_id', 'supplier')
    )
    op.create_table('submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submissions_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submissions_resident_id'), ['resident_id'], unique=False)

    op.create_table('readings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('meter_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('previous_value', sa.BigInteger(), nullable=True),
    sa.Column('consumption', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['meter_id'], ['meters.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('readings', schema=None) as batch_op:
        batch_op.create_index('ix_readings_meter_period', ['meter_id', 'period'], unique=False)
        batch_op.create_index('ix_readings_period_status', ['period', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_readings_submission_id'), ['submission_id'], unique=False)
        batch_op.create_index('uq_readings_meter_period_accepted', ['meter_id', 'period'], unique=True, sqlite_where=sa.text("status = 'accepted'"), postgresql_where=sa.text("status = 'accepted'"))
        batch_op.create_index('uq_readings_meter_period_pending', ['meter_id', 'period'], unique=True, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))




def downgrade() -> None:

    with op.batch_alter_table('readings', schema=None) as batch_op:
        batch_op.drop_index('uq_readings_meter_period_pending', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index('uq_readings_meter_period_accepted', sqlite_where=sa.text("status = 'accepted'"), postgresql_where=sa.text("status = 'accepted'"))
        batch_op.drop_index(batch_op.f('ix_readings_submission_id'))
        batch_op.drop_index('ix_readings_period_status')
        batch_op.drop_index('ix_readings_meter_period')

    op.drop_table('readings')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submissions_resident_id'))
        batch_op.drop_index(batch_op.f('ix_submissions_account_id'))

    op.drop_table('submissions')
    op.drop_table('reminder_preferences')
    with op.batch_alter_table('meters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meters_account_id'))

    op.drop_table('meters')
    with op.batch_alter_table('links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_links_account_id'))

    op.drop_table('links')
    op.drop_table('residents')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_channel')

    op.drop_table('outbox')
    op.drop_table('link_locks')
    with op.batch_alter_table('link_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_link_failures_number_at')

    op.drop_table('link_failures')
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_unhandled')

    op.drop_table('inbound_events')
    op.drop_table('accounts')

