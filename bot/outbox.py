"""Replies waiting in the outbox: sent after each step, resent at start after a crash.

A step's replies are stored in the step's transaction; once a channel has sent them, their row is
deleted — in batches, so that a busy bot does not pay one more write per update. A crash between
sending and deleting sends those few replies again: at least once, never lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from core.events import decode_replies
from core.ports import UnitOfWork
from core.service import Outcome

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 0.2


class Outbox:
    def __init__(self, channel: str, uow_factory: Callable[[], UnitOfWork]) -> None:
        self._channel = channel
        self._uow_factory = uow_factory
        self._sent: list[int] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._flush_periodically(), name=f"{self._channel}-outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()

    def sent(self, outbox_id: int | None) -> None:
        if outbox_id is not None:
            self._sent.append(outbox_id)

    async def flush(self) -> None:
        ids, self._sent = self._sent, []
        if not ids:
            return
        try:
            async with self._uow_factory() as uow:
                await uow.outbox.done(ids)
                await uow.commit()
        except Exception:
            log.exception("%s outbox: could not clear %d sent entries; they may be sent again", self._channel, len(ids))

    async def resend(self, deliver: Callable[[Outcome], Awaitable[object]]) -> int:
        """Send what a previous run stored but may not have sent; returns how many entries."""
        async with self._uow_factory() as uow:
            pending = await uow.outbox.pending(self._channel, 10_000)
        for entry in pending:
            await deliver(Outcome(entry.chat, entry.language, decode_replies(entry.body), outbox_id=entry.id))
            self.sent(entry.id)
        await self.flush()
        if pending:
            log.info("%s outbox: sent %d entries left by an earlier run", self._channel, len(pending))
        return len(pending)

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            await self.flush()
