"""Handling recorded inbound events in batches, claimed so that no two processes take one event.

Events recorded in this process are handled from memory; the database is looked at on start, when
polling recorded something, and every few seconds for events whose holder died (their claim lapsed).
A batch that fails on the database is kept in hand and tried again after a backoff (the supervisor's);
an event that fails on its own is the pipeline's to set aside.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from core.ports import Claim, UnitOfWork
from bot.delivery.adapter import Recorded

log = logging.getLogger(__name__)

BatchHandler = Callable[[list[Recorded]], Awaitable[list[Recorded]]]


def chats_behind(waiting: list[tuple[str, str]], here: set[str]) -> set[str]:
    """Chats whose earliest waiting event (``waiting``: (chat, event id), oldest first) is not one of ``here``:
    their events among ``here`` must wait for it."""
    oldest: dict[str, str] = {}
    for chat, event_id in waiting:
        oldest.setdefault(chat, event_id)
    return {chat for chat, event_id in oldest.items() if event_id not in here}


async def behind_others(uow: UnitOfWork, channel: str, chats: Mapping[str, str]) -> set[str]:
    """Of events just recorded in ``uow`` (event id → chat), those behind an earlier event of their resident
    that is waiting elsewhere; one query, in the recording transaction."""
    if not chats:
        return set()
    behind = chats_behind(await uow.inbox.waiting(channel, list(set(chats.values()))), set(chats))
    return {event_id for event_id, chat in chats.items() if chat in behind}


class TryAgainLater(Exception):
    """Some events of a batch met a database that did not answer; they stay in hand."""


class InboxWorker:
    def __init__(self, channel: str, uow_factory: Callable[[], UnitOfWork], handle: BatchHandler,
                 claim: Callable[[], Claim], now: Callable[[], datetime], batch: int = 200,
                 look_every_s: float = 5.0, on_progress: Callable[[], None] = lambda: None) -> None:
        self._on_progress = on_progress
        self._channel = channel
        self._uow_factory = uow_factory
        self._handle = handle
        self._claim = claim
        self._now = now
        self._batch = batch
        self._look_every_s = look_every_s
        self._queue: list[Recorded] = []
        self._queued: set[str] = set()  # in the queue, being handled, or held
        self._held: set[str] = set()
        self._looked = time.monotonic()
        self._wakeup = asyncio.Event()
        self._look_in_database = True
        self._idle = asyncio.Event()

    def notify(self, recorded: Recorded | None = None) -> None:
        """Something was recorded: given here, it is handled without reading it back."""
        if recorded is None:
            self._look_in_database = True
        elif recorded.event_id not in self._queued:
            self._queued.add(recorded.event_id)
            self._queue.append(recorded)
        self._idle.clear()
        self._wakeup.set()

    def in_hand(self) -> list[str]:
        return list(self._queued)

    def hold(self, items: list[Recorded], seconds: float) -> None:
        """Keep these events in hand (claimed, renewed) and try them again after ``seconds``: a resident's
        earlier event, recorded by another process, has not been handled yet."""
        for item in items:
            self._queued.add(item.event_id)
            self._held.add(item.event_id)
        asyncio.get_running_loop().call_later(seconds, self._take_back, items)

    def park(self, item: Recorded) -> None:
        """Keep this event in hand (claimed, renewed) until ``done``: it is handled elsewhere (behind a photo)."""
        self._queued.add(item.event_id)
        self._held.add(item.event_id)

    def done(self, items: list[Recorded]) -> None:
        """Parked events that were handled."""
        ids = {item.event_id for item in items}
        self._held -= ids
        self._queued -= ids
        self._wakeup.set()  # the loop says it is idle once nothing is held

    def _take_back(self, items: list[Recorded]) -> None:
        self._held.difference_update(item.event_id for item in items)
        self._queue.extend(items)
        self._idle.clear()
        self._wakeup.set()

    async def drain(self) -> None:
        """Wait until everything recorded so far has been handled (tests and benchmarks)."""
        self.notify()
        await self._idle.wait()

    async def preload(self) -> None:
        """Take what earlier runs left before new events arrive, so one resident's stay in order."""
        self._look_in_database = False
        await self._load()

    async def run(self) -> None:
        """The loop; the supervisor restarts it after an exception, with what was in hand kept."""
        self._wakeup.set()
        while True:
            try:
                async with asyncio.timeout(self._look_every_s):  # not wait_for: 3.11's can swallow a cancel
                    await self._wakeup.wait()
            except TimeoutError:
                pass
            if time.monotonic() - self._looked >= self._look_every_s:
                self._look_in_database = True  # a dead process's claims may have lapsed (woken often or not)
            self._wakeup.clear()
            if self._look_in_database and not self._queue:
                self._look_in_database = False
                await self._load()
            while self._queue:
                batch, self._queue = self._queue[:self._batch], self._queue[self._batch:]
                try:
                    again = await self._handle(batch)
                except BaseException:
                    # still claimed by us: tried again after the backoff (but for those parked meanwhile)
                    self._queue = [r for r in batch if r.event_id not in self._held] + self._queue
                    raise
                self._queued.difference_update(r.event_id for r in batch if r.event_id not in self._held)
                self._on_progress()
                if again:
                    for item in again:
                        self._queued.add(item.event_id)
                    self._queue = again + self._queue
                    raise TryAgainLater(f"{len(again)} event(s) met a database error")
            if self._look_in_database:
                self._wakeup.set()
            elif not self._held:
                self._idle.set()

    async def _load(self) -> None:
        self._looked = time.monotonic()
        async with self._uow_factory() as uow:
            pending = await uow.inbox.claim(self._channel, self._claim(), self._now(), self._batch * 5)
            await uow.commit()
        self._on_progress()
        for event_id, payload in pending:
            self.notify(Recorded(event_id, payload, check_order=True))  # perhaps another process's
        if len(pending) == self._batch * 5:
            self._look_in_database = True
