"""Handling recorded inbound events: after a webhook answered 200, or polling moved its offset.

An event is recorded in the database before the platform is told it arrived; this worker handles
recorded events, including those a crash left unhandled, and never the same one twice at once.
Events of one resident are started in the order they were recorded; the conversation service then
runs them one at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from core.ports import UnitOfWork

log = logging.getLogger(__name__)

Handler = Callable[[str, str], Awaitable[None]]


class InboxWorker:
    def __init__(self, channel: str, uow_factory: Callable[[], UnitOfWork], handle: Handler,
                 concurrency: int = 64, batch: int = 200) -> None:
        self._channel = channel
        self._uow_factory = uow_factory
        self._handle = handle
        self._slots = asyncio.Semaphore(concurrency)
        self._batch = batch
        self._wakeup = asyncio.Event()
        self._in_flight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._wakeup.set()  # first, whatever an earlier run left unhandled
        self._runner = asyncio.create_task(self._run(), name=f"{self._channel}-inbox")

    def notify(self, event_id: str | None = None, payload: str | None = None) -> None:
        """Something was recorded; with its id and payload it starts at once, without a database read."""
        if event_id is not None and payload is not None and not self._stopping:
            self._spawn(event_id, payload)
        else:
            self._wakeup.set()

    async def stop(self) -> None:
        """Finish the events in hand; the rest stay recorded for the next start."""
        self._stopping = True
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self) -> None:
        """Wait until nothing recorded is left unhandled (for tests and the benchmark)."""
        while True:
            self._wakeup.set()
            await asyncio.sleep(0.01)
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
                continue
            async with self._uow_factory() as uow:
                if not await uow.inbox.unhandled(self._channel, 1):
                    return

    async def _run(self) -> None:
        while not self._stopping:
            await self._wakeup.wait()
            self._wakeup.clear()
            try:
                async with self._uow_factory() as uow:
                    pending = await uow.inbox.unhandled(self._channel, self._batch)
            except Exception:
                log.exception("reading the %s inbox failed; retrying", self._channel)
                await asyncio.sleep(1)
                self._wakeup.set()
                continue
            for event_id, payload in pending:
                self._spawn(event_id, payload)
            if len(pending) == self._batch:
                self._wakeup.set()

    def _spawn(self, event_id: str, payload: str) -> None:
        if event_id in self._in_flight:
            return
        self._in_flight.add(event_id)
        task = asyncio.create_task(self._one(event_id, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _one(self, event_id: str, payload: str) -> None:
        try:
            async with self._slots:
                await self._handle(event_id, payload)
        except Exception:
            log.exception("%s event %s failed", self._channel, event_id)
        finally:
            self._in_flight.discard(event_id)
