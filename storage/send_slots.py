"""The send budget's slots in PostgreSQL, shared by every process of the bot on one database.

One call of ``take_send_slot`` (migration 0006) grants a slot: it locks the bot's row (and the
chat's), reads the database's clock, and moves the next free times on. The engine here is the
budget's own, in autocommit, so a slot costs one round trip — no BEGIN and COMMIT around it — and
the application's pool is not taken by it. Chats' rows are deleted once they space nothing any more.
"""

from __future__ import annotations

from sqlalchemy import text

from bot.delivery.send_budget import Grant, SlotRequest
from storage.database import create_engine

TAKE = text("SELECT granted, wait FROM take_send_slot(:budget, :spacing, :chat, :chat_spacing, :wait_for_chat, "
            ":lead)")
HOLD = text("INSERT INTO send_budgets AS b (key, next_at) "
            "VALUES (:budget, extract(epoch FROM clock_timestamp())::float8 + CAST(:seconds AS float8)) "
            "ON CONFLICT (key) DO UPDATE SET next_at = greatest(b.next_at, excluded.next_at)")
FORGET = text("DELETE FROM send_budgets WHERE key LIKE :chats "
              "AND next_at < extract(epoch FROM clock_timestamp())::float8 - 60")
FORGET_EVERY = 1000  # chat slots granted between deletions of the chats' rows that space nothing any more


class PostgresSlots:
    def __init__(self, database_url: str) -> None:
        # a slot is one statement: autocommit, and a command timeout so a stuck server fails the call
        self._engine = create_engine(database_url, isolation_level="AUTOCOMMIT", pool_size=4, max_overflow=16,
                                     connect_args={"timeout": 5, "command_timeout": 5})
        self._chat_grants = 0

    async def take(self, request: SlotRequest) -> Grant:
        async with self._engine.connect() as connection:
            granted, wait = (await connection.execute(TAKE, dict(
                budget=request.budget, spacing=request.interval, chat=request.chat,
                chat_spacing=request.chat_interval, wait_for_chat=request.wait_for_chat, lead=request.lead))).one()
            if request.chat is not None:
                self._chat_grants += 1
                if self._chat_grants % FORGET_EVERY == 0:
                    await connection.execute(FORGET, dict(chats="%:chat:%"))
        return Grant(bool(granted), max(0.0, float(wait)))

    async def hold(self, budget: str, seconds: float) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(HOLD, dict(budget=budget, seconds=seconds))

    async def close(self) -> None:
        await self._engine.dispose()
