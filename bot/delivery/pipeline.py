"""One channel's path: record → handle in batches → outbox → send, on the process's supervisor."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial

from sqlalchemy import exc as sa_exc

from core.events import ChatRef, Inbound, PhotoReceived
from core.ports import Claim, UnitOfWork
from core.service import ConversationService, Deferred, Outcome
from bot.delivery.adapter import ChannelAdapter, Parsed, Recorded
from bot.delivery.inbox import InboxWorker, behind_others, chats_behind
from bot.delivery.outbox import OutboxSender
from bot.delivery.recorder import InboxRecorder
from bot.delivery.send_budget import SendBudget
from bot.delivery.supervisor import LoopHealth, Supervisor
from bot.metrics import Metrics
from bot.photos.intake import PhotoIntake

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # an event that fails this often on its own is set aside
MAX_TRANSIENT_TRIES = 20  # ... and one the database keeps failing, after this many backoffs (about 15 minutes)
STOP_GRACE_S = 10.0
WAIT_FOR_EARLIER_S = 0.25  # a resident's event behind an earlier one that another process holds: looked at again
# the database did not answer: not the event's fault, so it is tried again, not counted against it
TRANSIENT = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, OSError, TimeoutError)


def wall_clock() -> datetime:
    return datetime.now(timezone.utc)


_Step = tuple[Inbound, Recorded, Parsed]


@dataclass
class _Lane:
    """One resident's events from a photo being fetched on, in the order they came (bot/delivery/pipeline.py)."""

    steps: list[_Step]
    opened: asyncio.Event  # the batch that opened the lane has settled the resident's earlier events


@dataclass(frozen=True)
class PipelineSettings:
    owner: str  # this process, in claims
    lease: timedelta = timedelta(seconds=30)
    max_age: timedelta = timedelta(hours=24)  # a reply not sent by then is set aside
    single_process: bool = True  # SQLite: claims found at start belonged to a process that is gone


class Pipeline:
    def __init__(self, adapter: ChannelAdapter, service: ConversationService,
                 uow_factory: Callable[[], UnitOfWork], clock: Callable[[], datetime], metrics: Metrics,
                 health: LoopHealth, settings: PipelineSettings, budget: SendBudget | None = None,
                 intake: PhotoIntake | None = None) -> None:
        self.adapter = adapter
        self.channel = adapter.name
        self.health = health
        self._service = service
        self._uow_factory = uow_factory
        self._clock = clock
        self._metrics = metrics
        self._settings = settings
        self._supervisor: Supervisor | None = None
        self._loops: list[str] = []
        self._transient_tries: dict[str, int] = {}
        self._intake = intake
        self._lanes: dict[ChatRef, _Lane] = {}  # residents with a photo being fetched: their events, in order
        self._laned: set[str] = set()  # the event ids in a lane
        self._lane_tasks: set[asyncio.Task[None]] = set()
        self.recorder = InboxRecorder(self.channel, uow_factory, clock, self.claim)
        self.inbox = InboxWorker(self.channel, uow_factory, self._handle_batch, self.claim, wall_clock,
                                 on_progress=lambda: health.ok(f"{self.channel}-inbox"))
        self.outbox = OutboxSender(adapter, uow_factory, metrics, self.claim, wall_clock, clock, settings.max_age,
                                   on_progress=lambda: health.ok(f"{self.channel}-outbox"),
                                   on_settled=lambda: health.ok(f"{self.channel}-outbox-settle"), budget=budget)
        self.budget = self.outbox.budget  # the bot's send budget on this platform: replies and reminders

    def claim(self) -> Claim:
        return Claim(self._settings.owner, wall_clock() + self._settings.lease)

    # life

    async def prepare(self) -> None:
        """Before the webhooks take anything: claims of a dead SQLite process back, the first recorded
        events in hand (one query; the rest of a backlog drains in the background)."""
        try:
            if self._settings.single_process:
                await self._release(everything=True)
            await self.inbox.preload()
        except Exception as exc:  # the loops try again
            log.error("%s: reading what an earlier run left failed (%s)", self.channel, exc.__class__.__name__)

    async def start(self, supervisor: Supervisor) -> None:
        """Nothing here waits for a backlog: the loops take it over in the background."""
        self._supervisor = supervisor
        loops = {
            f"{self.channel}-inbox": self.inbox.run,
            f"{self.channel}-outbox": self.outbox.sweep,
            f"{self.channel}-outbox-settle": self.outbox.flush_loop,
            f"{self.channel}-claims": self._renew_claims,
            **self.adapter.loops(self),
        }
        for name, body in loops.items():
            supervisor.spawn(name, body)
        self._loops = list(loops)

    async def stop(self) -> None:
        """Stop taking work, let sends in hand finish briefly, give back every claim we hold."""
        if self._supervisor is not None:
            await self._supervisor.stop(*self._loops)
        for task in list(self._lane_tasks):  # their events stay recorded: handled by whoever takes them next
            task.cancel()
        try:
            async with asyncio.timeout(STOP_GRACE_S):
                await self.outbox.chains.wait()
        except TimeoutError:
            await self.outbox.chains.cancel()
        try:
            await self.outbox.flush()
            await self._release(everything=False)
        except Exception as exc:
            log.error("%s: releasing claims at stop failed (%s); they lapse on their own", self.channel,
                      exc.__class__.__name__)
        await self.adapter.close()

    async def _release(self, everything: bool) -> None:
        async with self._uow_factory() as uow:
            if everything:
                await uow.inbox.release_all()
                await uow.outbox.release_all()
            else:
                await uow.inbox.release(self._settings.owner)
                await uow.outbox.release(self._settings.owner)
            await uow.commit()

    async def _renew_claims(self) -> None:
        while True:
            await asyncio.sleep(self._settings.lease.total_seconds() / 3)
            claim = self.claim()
            async with self._uow_factory() as uow:
                await uow.inbox.renew(claim, self.inbox.in_hand())
                await uow.outbox.renew(claim, self.outbox.in_hand())
                await uow.commit()
            self.health.ok(f"{self.channel}-claims")

    async def settle(self) -> None:
        """Wait until what was recorded is handled and its replies are sent (tests and benchmarks)."""
        await self.inbox.drain()
        await self.outbox.chains.wait()
        await self.outbox.flush()

    # inbound

    async def accept(self, event_id: str, payload: str, parsed: object = None) -> bool:
        """Record a webhook's event (True when new) and hand it to the worker; raises if it was not kept."""
        new, behind = await self.recorder.record(event_id, payload, self._chat(Recorded(event_id, payload, parsed)))
        if new:
            self.inbox.notify(Recorded(event_id, payload, parsed, check_order=behind))
        return new

    async def record_polled(self, events: list[tuple[str, str]]) -> None:
        """Record what a poll brought, before the next poll confirms it to the platform."""
        chats = {event_id: chat for event_id, payload in events
                 if (chat := self._chat(Recorded(event_id, payload))) is not None}
        async with self._uow_factory() as uow:
            new = await uow.inbox.record_many(self.channel, events, self._clock(), self.claim(), chats)
            behind = await behind_others(uow, self.channel, {e: c for e, c in chats.items() if e in new})
            await uow.commit()
        for event_id, payload in events:
            if event_id in new:  # claimed by us: handled from memory
                self.inbox.notify(Recorded(event_id, payload, check_order=event_id in behind))

    def _chat(self, item: Recorded) -> str | None:
        """Whose event it is, recorded with it when several processes serve: a resident's later events wait."""
        if self._settings.single_process:  # one process handles what it recorded in the order recorded
            return None
        chat = self.adapter.sender(item)
        return chat.chat_id if chat is not None else None

    async def _in_order(self, steps: list[tuple[Inbound, Recorded, Parsed]]
                        ) -> list[tuple[Inbound, Recorded, Parsed]]:
        """The steps that may run now, in the order recorded; a resident whose earlier event is still
        waiting elsewhere (another process recorded it, or holds it) has this batch's events held back.

        Asked only of a batch with an event that was behind another when recorded, or taken over: the
        common case costs no query here (the recording transaction asked)."""
        if self._settings.single_process or not any(item.check_order for _, item, _ in steps):
            return steps
        async with self._uow_factory() as uow:
            waiting = await uow.inbox.waiting(self.channel, list({event.chat.chat_id for event, _, _ in steps}))
        behind = chats_behind(waiting, {item.event_id for _, item, _ in steps})
        later = [item for event, item, _ in steps if event.chat.chat_id in behind]
        if later:
            self._metrics.updates.labels(self.channel, "waiting").inc(len(later))
            self.inbox.hold(later, WAIT_FOR_EARLIER_S)
        order = {event_id: n for n, (_, event_id) in enumerate(waiting)}
        return sorted((s for s in steps if s[0].chat.chat_id not in behind),
                      key=lambda s: order.get(s[1].event_id, len(order)))

    async def _handle_batch(self, batch: list[Recorded]) -> list[Recorded]:
        """Parse, step and send a batch; returns the events to try again after a database error."""
        started = time.perf_counter()
        steps: list[_Step] = []
        no_step: list[tuple[Recorded, Parsed]] = []
        for item in batch:
            if item.event_id in self._laned:  # a batch put back whole: this one waits in its lane already
                continue
            try:
                parsed = self.adapter.parse(item)
            except Exception as exc:  # unreadable: set aside at once, it would fail the same way again
                self._metrics.updates.labels(self.channel, "malformed").inc()
                await self._set_aside(item, self.adapter.sender(item), exc, 1)
                continue
            if parsed.event is None:
                no_step.append((item, parsed))
            else:
                steps.append((parsed.event, item, parsed))
        if no_step:
            await self._settle_without_step(no_step)
        steps, opened = self._into_lanes(await self._in_order(steps))
        try:
            again = await self._step_all(steps, started)
            return self._behind_photos(again, steps)
        finally:
            for lane in opened:  # the resident's earlier events of this batch are settled (or back in hand)
                lane.opened.set()

    async def _step_all(self, steps: list[_Step], started: float) -> list[Recorded]:
        """Step events in one transaction, then send, retry alone, or set aside each; the events to try again
        after a database error."""
        if not steps:
            return []
        outcomes = await self._service.handle_batch([(e, item.event_id) for e, item, _ in steps], claim=self.claim(),
                                                    give_up=lambda exc: isinstance(exc, TRANSIENT))
        again: list[Recorded] = []
        waiting: set[ChatRef] = set()  # residents with an event to try again: their later ones wait too
        for (event, item, parsed), outcome in zip(steps, outcomes):
            if event.chat in waiting:
                again.append(item)
                continue
            if isinstance(outcome, Deferred):  # behind an event of the same resident that failed on its own
                outcome = await self._retry_alone(event, item)
            attempts = 1
            while isinstance(outcome, Exception) and not isinstance(outcome, TRANSIENT) and attempts < MAX_ATTEMPTS:
                attempts += 1
                outcome = await self._retry_alone(event, item)
            if isinstance(outcome, TRANSIENT):
                tries = self._transient_tries[item.event_id] = self._transient_tries.get(item.event_id, 0) + 1
                if tries < MAX_TRANSIENT_TRIES:
                    again.append(item)
                    waiting.add(event.chat)
                    continue
                # the database answers the set-aside below but keeps failing this one event: it is the event's
            self._transient_tries.pop(item.event_id, None)
            if isinstance(outcome, Exception):
                self._metrics.updates.labels(self.channel, "error").inc()
                self._metrics.errors.labels(self.channel, "handling").inc()
                await self._set_aside(item, event.chat, outcome, attempts, parsed)
                continue
            self._metrics.updates.labels(self.channel, "duplicate" if outcome.duplicate else "handled").inc()
            self.outbox.send_now(outcome, self._acknowledger(parsed, outcome))
            self._metrics.latency.labels(self.channel).observe(time.perf_counter() - started)
        return again

    # photos

    def _into_lanes(self, steps: list[_Step]) -> tuple[list[_Step], list[_Lane]]:
        """The steps that may run now, and the lanes this batch opened.

        A photo is fetched (and read) beside the inbox, never in it: from a resident's photo on, their events
        wait in a lane of their own, in the order they came, and run there once the photo is kept; no one
        else's wait. A lane runs only after the batch that opened it has settled the resident's earlier events.
        """
        if self._intake is None:
            return steps, []
        ready, opened = [], []
        for step in steps:
            event, item, _ = step
            lane = self._lanes.get(event.chat)
            if lane is None and isinstance(event, PhotoReceived) and not event.fetched:
                lane = self._lanes[event.chat] = _Lane([], asyncio.Event())
                opened.append(lane)
                task = asyncio.create_task(self._run_lane(event.chat, lane, self._intake))
                self._lane_tasks.add(task)
                task.add_done_callback(self._lane_tasks.discard)
            if lane is None:
                ready.append(step)
                continue
            lane.steps.append(step)
            self._laned.add(item.event_id)
            self.inbox.park(item)
        return ready, opened

    def _behind_photos(self, again: list[Recorded], steps: list[_Step]) -> list[Recorded]:
        """Of the events to try again, those whose resident has a lane now go first in it, before their own
        photo; the others are returned."""
        ahead: dict[ChatRef, list[_Step]] = {}
        for step in steps:
            if step[1] in again and step[0].chat in self._lanes:
                ahead.setdefault(step[0].chat, []).append(step)
        for chat, first in ahead.items():
            self._lanes[chat].steps[:0] = first
            for _, item, _ in first:
                self._laned.add(item.event_id)
                self.inbox.park(item)
        return [item for item in again if item.event_id not in self._laned]

    async def _run_lane(self, chat: ChatRef, lane: _Lane, intake: PhotoIntake) -> None:
        """Fetch the photo at the lane's head, then run the steps up to the next photo; until the lane is empty.
        Events that meet a database error stay at its head, tried again after a pause."""
        pause = 0.5
        try:
            while lane.steps:
                try:
                    if await self._lane_step(lane, intake):
                        pause = 0.5
                        continue
                except Exception as exc:  # a set-aside that met the database, or a bug: the lane goes on
                    log.error("%s: a resident's steps behind a photo failed (%s); tried again", self.channel,
                              exc.__class__.__name__)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)
        finally:
            if self._lanes.get(chat) is lane and not lane.steps:
                del self._lanes[chat]

    async def _lane_step(self, lane: _Lane, intake: PhotoIntake) -> bool:
        """Fetch the photo at the head, or run the steps up to the next photo; False: some must be tried again."""
        event, item, parsed = lane.steps[0]
        if isinstance(event, PhotoReceived) and not event.fetched:
            fetched = await self._fetch_photo(intake, event)
            at = next(n for n, step in enumerate(lane.steps) if step[1] is item)  # events may have gone ahead
            lane.steps[at] = (fetched, item, parsed)
            return True
        await lane.opened.wait()
        cut = next((n for n, (e, _, _) in enumerate(lane.steps)
                    if n and isinstance(e, PhotoReceived) and not e.fetched), len(lane.steps))
        run = lane.steps[:cut]
        again = await self._step_all(run, time.perf_counter())
        lane.steps[:cut] = [step for step in run if step[1] in again]
        done = [item for _, item, _ in run if item not in again]
        self._laned.difference_update(item.event_id for item in done)
        self.inbox.done(done)
        return not again

    async def _fetch_photo(self, intake: PhotoIntake, event: PhotoReceived) -> PhotoReceived:
        started = time.perf_counter()
        prepared = await intake.prepare(self.adapter, event)
        self._metrics.photos.labels(self.channel, prepared.problem.value if prepared.problem else "kept").inc()
        self._metrics.photo_seconds.labels(self.channel).observe(time.perf_counter() - started)
        return prepared

    async def _retry_alone(self, event: Inbound, item: Recorded) -> Outcome | Exception:
        try:
            return await self._service.handle(event, inbound_id=item.event_id, outbox=True, claim=self.claim())
        except Exception as exc:
            return exc

    async def _set_aside(self, item: Recorded, chat: ChatRef | None, error: Exception, attempts: int,
                         parsed: Parsed | None = None) -> None:
        self._metrics.set_aside.labels(self.channel, "inbox").inc()
        log.error("%s event %s set aside after %d attempt(s): %s", self.channel, item.event_id, attempts,
                  error.__class__.__name__)
        try:
            outcome = await self._service.set_aside(self.channel, item.event_id, chat, error.__class__.__name__,
                                                    attempts, self.claim())
        except TRANSIENT:
            raise
        except Exception as exc:  # not even the notice can be made: the event is set aside alone
            log.error("%s event %s: the error notice failed too (%s)", self.channel, item.event_id,
                      exc.__class__.__name__)
            outcome = await self._service.set_aside(self.channel, item.event_id, None, error.__class__.__name__,
                                                    attempts)
        if outcome is not None:
            self.outbox.send_now(outcome, self._acknowledger(parsed))

    async def _settle_without_step(self, items: list[tuple[Recorded, Parsed]]) -> None:
        """Ignored events are done; a block or unblock changes whether the resident can be reached."""
        async with self._uow_factory() as uow:
            await uow.inbox.prefetch(self.channel, [item.event_id for item, _ in items])
            for item, parsed in items:
                first_time = await uow.inbox.mark_handled(self.channel, item.event_id, self._clock())
                if parsed.reachable is not None and first_time:
                    chat, reachable = parsed.reachable
                    await uow.residents.set_reachable(chat, reachable)
            await uow.commit()
        for _, parsed in items:
            if parsed.reachable is not None:
                self._metrics.updates.labels(self.channel, "unblocked" if parsed.reachable[1] else "blocked").inc()
            elif parsed.acknowledge is None:
                self._metrics.updates.labels(self.channel, "ignored").inc()
            if parsed.acknowledge is not None:
                self.outbox.chains.spawn(("ack", parsed.acknowledge), partial(self.adapter.acknowledge,
                                                                              parsed.acknowledge))

    def _acknowledger(self, parsed: Parsed | None,
                      outcome: Outcome | None = None) -> Callable[[], Awaitable[None]] | None:
        if parsed is None or parsed.acknowledge is None:
            return None
        return partial(self.adapter.acknowledge, parsed.acknowledge, outcome)
