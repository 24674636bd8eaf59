"""Handling recorded inbound events: after a webhook answered 200, or polling moved its offset.

An event is recorded in the database before the platform is told it arrived; this worker hands
recorded events to the channel in batches (one transaction each, in the order they were recorded),
including those a crash left unhandled, and never the same event twice at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

from core.ports import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recorded:
    event_id: str
    payload: str
    parsed: object = None  # the channel's parsed form, when it was just received in this process


BatchHandler = Callable[[list[Recorded]], Awaitable[None]]


class InboxWorker:
    def __init__(self, channel: str, uow_factory: Callable[[], UnitOfWork], handle: BatchHandler,
                 batch: int = 200) -> None:
        self._channel = channel
        self._uow_factory = uow_factory
        self._handle = handle
        self._batch = batch
        self._queue: list[Recorded] = []
        self._queued: set[str] = set()
        self._wakeup = asyncio.Event()
        self._look_in_database = True
        self._idle = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._wakeup.set()  # first, whatever an earlier run left unhandled
        self._runner = asyncio.create_task(self._run(), name=f"{self._channel}-inbox")

    def notify(self, recorded: Recorded | None = None) -> None:
        """Something was recorded: given here, it is handled without reading it back."""
        if recorded is None:
            self._look_in_database = True
        elif recorded.event_id not in self._queued:
            self._queued.add(recorded.event_id)
            self._queue.append(recorded)
        self._idle.clear()
        self._wakeup.set()

    async def stop(self) -> None:
        """Finish the batch in hand; the rest stays recorded for the next start."""
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)

    async def drain(self) -> None:
        """Wait until everything recorded so far has been handled (tests and benchmarks)."""
        self.notify()
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if self._look_in_database and not self._queue:
                self._look_in_database = False
                await self._load()
            while self._queue:
                batch, self._queue = self._queue[:self._batch], self._queue[self._batch:]
                try:
                    await self._handle(batch)
                except Exception:
                    log.exception("%s: a batch of %d events failed", self._channel, len(batch))
                    self._look_in_database = True  # what is still unhandled is tried again
                    await asyncio.sleep(1)
                finally:
                    self._queued.difference_update(r.event_id for r in batch)
            if self._look_in_database:
                self._wakeup.set()
            else:
                self._idle.set()

    async def _load(self) -> None:
        try:
            async with self._uow_factory() as uow:
                pending = await uow.inbox.unhandled(self._channel, self._batch * 5)
        except Exception:
            log.exception("%s: reading the inbox failed; retrying", self._channel)
            await asyncio.sleep(1)
            self._look_in_database = True
            return
        for event_id, payload in pending:
            self.notify(Recorded(event_id, payload))
        if len(pending) == self._batch * 5:
            self._look_in_database = True


class Deliveries:
    """Sending runs beside handling; one chat's sends stay in the order their steps ran."""

    def __init__(self) -> None:
        self._last: dict[Hashable, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, key: Hashable, send: Callable[[], Awaitable[None]]) -> None:
        previous = self._last.get(key)

        async def run() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            try:
                await send()
            except Exception:
                log.exception("sending failed")

        task = asyncio.create_task(run())
        self._last[key] = task
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._forget(key, t))

    def _forget(self, key: Hashable, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._last.get(key) is task:
            del self._last[key]

    async def wait(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
