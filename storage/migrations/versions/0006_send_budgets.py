"""the send budget on PostgreSQL: next free times per bot and chat, and the function granting a slot

Only on PostgreSQL (SQLite has one process, whose budget lives in its memory). The table is
UNLOGGED: it holds only the next few seconds' spacing, which a crash may lose, and its hot rows are
updated for every message, so they skip the write-ahead log. The function is the rule of
bot/delivery/slots_in_process.py's next_slot, run in one statement: one round trip a slot.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00
"""
from __future__ import annotations

from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TAKE_SEND_SLOT = """
CREATE OR REPLACE FUNCTION take_send_slot(budget text, spacing float8, chat text, chat_spacing float8,
                                          wait_for_chat boolean, lead float8,
                                          OUT granted boolean, OUT wait float8)
LANGUAGE plpgsql AS $$
DECLARE
    next_all float8;
    next_chat float8;
    now_s float8;
    slot float8;
BEGIN
    -- the bot's row first, then the chat's: every caller locks in this order, so none deadlock
    IF budget IS NOT NULL THEN
        SELECT next_at INTO next_all FROM send_budgets WHERE key = budget FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO send_budgets (key, next_at) VALUES (budget, 0) ON CONFLICT (key) DO NOTHING;
            SELECT next_at INTO next_all FROM send_budgets WHERE key = budget FOR UPDATE;
        END IF;
    END IF;
    IF chat IS NOT NULL THEN
        SELECT next_at INTO next_chat FROM send_budgets WHERE key = chat FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO send_budgets (key, next_at) VALUES (chat, 0) ON CONFLICT (key) DO NOTHING;
            SELECT next_at INTO next_chat FROM send_budgets WHERE key = chat FOR UPDATE;
        END IF;
    END IF;
    now_s := extract(epoch FROM clock_timestamp());  -- read once the rows are ours: waiting for them is not slack
    slot := CASE WHEN budget IS NULL THEN now_s + lead ELSE greatest(now_s + lead, coalesce(next_all, 0)) END;
    IF wait_for_chat AND coalesce(next_chat, 0) > slot THEN
        granted := false;
        wait := next_chat - now_s;
        RETURN;
    END IF;
    IF budget IS NOT NULL THEN
        UPDATE send_budgets SET next_at = slot + spacing WHERE key = budget;
    END IF;
    IF chat IS NOT NULL THEN
        UPDATE send_budgets SET next_at = greatest(coalesce(next_chat, 0), slot + chat_spacing) WHERE key = chat;
    END IF;
    granted := true;
    wait := slot - now_s;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE UNLOGGED TABLE send_budgets (key varchar(100) PRIMARY KEY, "
               "next_at double precision NOT NULL)")
    op.execute(TAKE_SEND_SLOT)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION take_send_slot(text, float8, text, float8, boolean, float8)")
    op.execute("DROP TABLE send_budgets")
