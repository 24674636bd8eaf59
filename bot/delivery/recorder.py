"""Recording inbound events durably, many per transaction.

Each webhook request waits until its event is committed before answering 200; concurrent requests
share one transaction (group commit), so a busy bot pays one commit per batch, not per update.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from core.ports import Claim, UnitOfWork
from bot.delivery.inbox import behind_others

log = logging.getLogger(__name__)

MAX_BATCH = 500


class InboxRecorder:
    def __init__(self, channel: str, uow_factory: Callable[[], UnitOfWork], clock: Callable[[], datetime],
                 claim: Callable[[], Claim]) -> None:
        self._channel = channel
        self._claim = claim
        self._uow_factory = uow_factory
        self._clock = clock
        self._waiting: list[tuple[str, str, str | None, asyncio.Future[tuple[bool, bool]]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, event_id: str, payload: str, chat: str | None = None) -> tuple[bool, bool]:
        """Durably keep the event (and whose it is, when known): whether it is new (not a redelivery), and
        whether an earlier event of its resident was waiting elsewhere then (``inbox.behind_others``)."""
        future: asyncio.Future[tuple[bool, bool]] = asyncio.get_running_loop().create_future()
        self._waiting.append((event_id, payload, chat, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                async with self._uow_factory() as uow:
                    # claimed by this process at once: it handles them from memory, no one else may
                    chats = {e: c for e, _, c, _ in batch if c}
                    new = await uow.inbox.record_many(self._channel, [(e, p) for e, p, _, _ in batch], self._clock(),
                                                      self._claim(), chats)
                    behind = await behind_others(uow, self._channel, {e: c for e, c in chats.items() if e in new})
                    await uow.commit()
            except Exception as exc:
                for _, _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for event_id, _, _, future in batch:
                if not future.done():
                    future.set_result((event_id in new, event_id in behind))
                    new.discard(event_id)  # the same update twice in one batch: the second is a repeat
