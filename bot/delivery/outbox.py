"""Sending what the outbox holds: claimed rows, one chat's replies in order, settled only by a final answer.

A step's replies are stored in its transaction already claimed by this process and sent at once
(the fast path); everything else — replies of a process that died, rows the core stored without a
channel at hand (receipts of kept readings, error notices) — is claimed from the database by the
sweep. A passing failure keeps the row claimed and retries it in place (a "retry after" pauses the
whole channel); a row that keeps failing past the maximum age, is refused by the platform, or cannot
be decoded is set aside for the operator, never dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime, timedelta
from functools import partial

from core.events import ChatRef, decode_answer
from core.ports import Claim, PendingReplies, UnitOfWork
from core.service import Outcome
from bot.delivery.adapter import ChannelAdapter
from bot.delivery.results import Rejected, RetryLater, SendResult, Sent, Unreachable
from bot.delivery.send_budget import SendBudget
from bot.delivery.slots_in_process import InProcessSlots
from bot.metrics import Metrics

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 0.2
MAX_BACKOFF_S = 300.0


class ChatChains:
    """Work per chat runs in the order it was spawned; different chats run side by side."""

    def __init__(self) -> None:
        self._last: dict[Hashable, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, key: Hashable, work: Callable[[], Awaitable[None]]) -> None:
        previous = self._last.get(key)

        async def run() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the row stays claimed; its claim lapses and the sweep takes it
                log.error("sending failed unexpectedly (%s)", exc.__class__.__name__)

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

    async def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


class OutboxSender:
    def __init__(self, adapter: ChannelAdapter, uow_factory: Callable[[], UnitOfWork], metrics: Metrics,
                 claim: Callable[[], Claim], now: Callable[[], datetime], clock: Callable[[], datetime],
                 max_age: timedelta, batch: int = 200, sweep_every_s: float = 1.0,
                 on_progress: Callable[[], None] = lambda: None,
                 on_settled: Callable[[], None] = lambda: None, budget: SendBudget | None = None) -> None:
        self._on_progress = on_progress
        # replies take the bot's slots too (a campaign holds one slot ahead per process, so they wait little)
        self.budget = budget or SendBudget(InProcessSlots(), adapter.name, None)
        self._on_settled = on_settled
        self._adapter = adapter
        self._channel = adapter.name
        self._uow_factory = uow_factory
        self._metrics = metrics
        self._claim = claim
        self._now = now  # wall clock, for claims
        self._clock = clock  # the business clock, for a row's age (rows are stamped with it)
        self._max_age = max_age
        self._batch = batch
        self._sweep_every_s = sweep_every_s
        self.chains = ChatChains()
        self._in_hand: set[int] = set()
        self._settled: list[int] = []
        self._wakeup = asyncio.Event()
        self._resume_at = 0.0  # loop time before which nothing is sent: the platform said "retry after"
        self.retry_after_met = 0

    # what the pipeline calls

    def send_now(self, outcome: Outcome, first: Callable[[], Awaitable[None]] | None = None) -> None:
        """A step's replies, just committed and claimed by this process; ``first`` runs before them."""
        if outcome.outbox_id is None:
            if first is not None:
                self.chains.spawn(outcome.chat, first)
            return
        row = PendingReplies(outcome.outbox_id, outcome.chat, outcome.language, "", 0, 0, self._clock())
        self._in_hand.add(row.id)

        async def work() -> None:
            if first is not None:
                await first()
            await self._deliver(row, outcome)

        self.chains.spawn(outcome.chat, work)

    def wake(self) -> None:
        self._wakeup.set()

    def in_hand(self) -> list[int]:
        return list(self._in_hand)

    async def sweep(self) -> None:
        """The loop: claim what nobody holds, and hand it to the chats' chains."""
        while True:
            try:
                async with asyncio.timeout(self._sweep_every_s):  # not wait_for: 3.11's can swallow a cancel
                    await self._wakeup.wait()
            except TimeoutError:
                pass
            self._wakeup.clear()
            if await self._claim_and_send(once=False):
                self._wakeup.set()
            self._on_progress()

    async def drain_once(self) -> None:
        """Try everything claimable now once, and wait for it (one-shot commands: remind)."""
        while True:
            more = await self._claim_and_send(once=True)
            await self.chains.wait()
            await self.flush()
            if not more:
                break
        async with self._uow_factory() as uow:  # what could not be sent now waits for `run`, unclaimed
            await uow.outbox.release(self._claim().owner)
            await uow.commit()
        self._in_hand.clear()

    async def _claim_and_send(self, once: bool) -> bool:
        """Claim a batch nobody holds and hand it to the chats' chains; True when the batch was full."""
        async with self._uow_factory() as uow:
            rows = await uow.outbox.claim(self._channel, self._claim(), self._now(), self._batch)
            await uow.commit()
        for row in rows:
            if row.id in self._in_hand:  # our own claim lapsed (renewal failed) while we still try it
                continue
            self._in_hand.add(row.id)
            self.chains.spawn(row.chat, partial(self._deliver, row, None, once))
        return len(rows) == self._batch

    async def flush(self) -> None:
        """Delete settled rows, many per statement; a crash before it sends them again (at least once)."""
        ids, self._settled = self._settled, []
        if not ids:
            return
        try:
            async with self._uow_factory() as uow:
                await uow.outbox.done(ids)
                await uow.commit()
        except BaseException:
            self._settled = ids + self._settled
            raise
        self._in_hand.difference_update(ids)

    async def flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            await self.flush()
            self._on_settled()

    # one row

    async def _deliver(self, row: PendingReplies, outcome: Outcome | None, once: bool = False) -> None:
        try:
            await self._deliver_row(row, outcome, once)
        except BaseException:
            self._in_hand.discard(row.id)  # not renewed any more: its claim lapses and the sweep takes it
            raise

    async def _deliver_row(self, row: PendingReplies, outcome: Outcome | None, once: bool) -> None:
        try:
            if outcome is None:
                answer = decode_answer(row.body)
                outcome = Outcome(row.chat, row.language, answer.replies, origin=answer.origin, notice=answer.notice)
            messages = self._adapter.render(outcome)
        except Exception as exc:  # a text key renamed in a release, say: kept for the operator
            await self._set_aside(row.id, f"undecodable: {exc.__class__.__name__}")
            return
        progress, attempt = row.progress, 0
        while True:
            result: SendResult = Sent()
            for message in messages[progress:]:
                await self.wait_for_resume()  # a slot taken before a pause would be void
                await self.budget.reply_slot(row.chat.chat_id)
                result = await self.send_one(message)
                if not isinstance(result, Sent):
                    break
                progress += 1
            if isinstance(result, Sent):
                self._metrics.replies.labels(self._channel).inc(len(messages) - row.progress)
                return self._settle(row.id)
            if isinstance(result, Unreachable):
                await self.mark_unreachable(row.chat)
                return self._settle(row.id)
            if isinstance(result, Rejected):
                await self._set_aside(row.id, result.reason, progress)
                return
            attempt += 1
            since = row.since or self._clock()
            if self._clock() - since > self._max_age:
                await self._set_aside(row.id, f"too old: {result.reason}", progress)
                return
            delay = result.delay if result.delay is not None else min(2.0 ** (attempt - 1), MAX_BACKOFF_S)
            self._metrics.errors.labels(self._channel, "retry_later").inc()
            log.warning("%s outbox %d: %s; trying again in %.0f s", self._channel, row.id, result.reason, delay)
            await self._record_attempt(row.id, progress, result.reason)
            if once:
                return
            await asyncio.sleep(0 if result.everyone else delay)

    async def send_one(self, message: object) -> SendResult:
        await self.wait_for_resume()
        try:
            result = await self._adapter.send(message)
            if isinstance(result, RetryLater) and result.everyone and result.delay:
                self.pause(result.delay)
                await self.budget.hold(result.delay)  # the platform's answer holds for the bot's other processes
            return result
        except Exception as exc:  # an adapter should map everything; whatever slips through is passing
            return RetryLater(exc.__class__.__name__)

    def pause(self, seconds: float) -> None:
        """The platform asked the bot to wait: nothing on this channel is sent before then."""
        self.retry_after_met += 1
        self._resume_at = max(self._resume_at, asyncio.get_running_loop().time() + seconds)

    def paused(self) -> bool:
        return self._resume_at > asyncio.get_running_loop().time()

    async def wait_for_resume(self) -> None:
        loop = asyncio.get_running_loop()
        while (wait := self._resume_at - loop.time()) > 0:
            await asyncio.sleep(wait)

    def _settle(self, row_id: int) -> None:
        self._settled.append(row_id)

    async def mark_unreachable(self, chat: ChatRef) -> None:
        self._metrics.errors.labels(self._channel, "unreachable").inc()
        await self.set_reachable(chat, False)

    async def set_reachable(self, chat: ChatRef, reachable: bool) -> None:
        """Whether the resident can be sent to: blocked or unsubscribed, or back."""
        async with self._uow_factory() as uow:
            await uow.residents.set_reachable(chat, reachable)
            await uow.commit()

    async def _record_attempt(self, row_id: int, progress: int, error: str) -> None:
        try:
            async with self._uow_factory() as uow:
                await uow.outbox.record_attempt(row_id, progress, error)
                await uow.commit()
        except Exception as exc:  # only bookkeeping: the row is still claimed and retried
            log.warning("%s outbox %d: recording the attempt failed (%s)", self._channel, row_id,
                        exc.__class__.__name__)

    async def _set_aside(self, row_id: int, reason: str, progress: int | None = None) -> None:
        self._metrics.set_aside.labels(self._channel, "outbox").inc()
        log.error("%s outbox %d set aside: %s", self._channel, row_id, reason)
        async with self._uow_factory() as uow:
            await uow.outbox.set_aside(row_id, reason, self._clock(), progress)
            await uow.commit()
        self._in_hand.discard(row_id)
