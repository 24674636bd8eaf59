"""One send budget per bot: a platform's limits hold for its token, however many processes send.

Slots are spaced evenly: a budget keeps the time its next slot is free (a "GCRA" scheme), and each
grant moves it on by one interval, the limit's spacing made ``SAFETY_MARGIN`` wider. Telegram also
keeps a next-free time per chat. Where that time lives is the port below, ``SlotStore``: in this
process's memory (one process: the default), in PostgreSQL, or in Redis (several processes);
``bot/bootstrap.py`` picks one. A store answers each request in one round trip, with its own clock.

Reminders wait for both the bot's slot and the chat's, and each process holds at most one reminder
slot ahead, so an interactive reply, which waits only for the bot's slot (a step's few messages to
one chat go out together, as Telegram allows), is never queued behind more than a slot per process
running a campaign. A reminder is claimed just before its slot (``REMINDER_LEAD_S``), so it goes
out at the slot and not a database round trip late; when another process has the resident, the
slot goes to this process's next reminder rather than to waste. A store that fails holds sending
back, never lets it through: see ``SendBudget``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from bot.delivery.supervisor import LoopHealth

log = logging.getLogger(__name__)

SAFETY_MARGIN = 0.03  # spacing a little wider than the limit: arrival jitter must not make a burst
SPARE_FOR_S = SAFETY_MARGIN / 2  # an unused reminder slot may still be used this long after it came
# A reminder's slot is at least this far off, so that its claim (a database round trip) is made before
# it comes: sent at the slot, not a claim's time after it while the next process sends at its own.
REMINDER_LEAD_S = 0.05
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class SlotRequest:
    budget: str | None  # the bot's key; None when a slot of the bot is already in hand (only the chat's is asked)
    interval: float  # seconds from this slot to the bot's next
    chat: str | None = None
    chat_interval: float = 0.0  # seconds from this slot to the chat's next
    wait_for_chat: bool = False  # a reminder waits for the chat; a reply only marks it
    lead: float = 0.0  # the slot is no sooner than this: a reminder is claimed in the meantime, not late for it


@dataclass(frozen=True)
class Grant:
    granted: bool
    wait: float  # seconds until the slot; when not granted, until the chat is free and asking again is worth it


class SlotStore(Protocol):
    async def take(self, request: SlotRequest) -> Grant:
        """Grant the next free slot (or refuse while the chat is busy) in one atomic step."""

    async def hold(self, budget: str, seconds: float) -> None:
        """Nothing of this budget before ``seconds`` from now: the platform said "retry after"."""

    async def close(self) -> None: ...


def budget_key(channel: str, token: str | None) -> str:
    """The channel and a hash of the bot's token: the limits are the token's; the token never shows."""
    if not token:
        return channel
    return f"{channel}:{hashlib.sha256(token.encode()).hexdigest()[:16]}"


def chat_key(budget: str, chat_id: str) -> str:
    return f"{budget}:chat:{hashlib.sha256(f'{budget}:{chat_id}'.encode()).hexdigest()[:16]}"


@dataclass
class ReminderSlot:
    budget: SendBudget
    at: float  # monotonic seconds
    busy: bool = False  # no slot: the chat had a message within its interval, and is free at ``at``

    def unused(self) -> None:
        """Its reminder was claimed by another process: this process's next reminder takes the slot."""
        if not self.busy:
            self.budget._spare_at = self.at

    async def arrive(self) -> bool:
        """Wait for the slot; False when it passed while the claim was made (the database was slow): sent
        now, the message would crowd the next slot, so take another."""
        wait = self.at - time.monotonic()
        await asyncio.sleep(wait)
        return wait > -SPARE_FOR_S


class SendBudget:
    """One platform's budget for one bot, as this process uses it: replies and reminders take slots here.

    When the store fails (Redis or PostgreSQL not answering), whoever waits for a slot keeps waiting,
    retrying with a growing backoff; the error's class is logged once per outage and the budget shows
    as failing in /healthz after the grace period. Nothing is sent without a slot.
    """

    def __init__(self, store: SlotStore, key: str, rate: float | None, chat_rate: float | None = None,
                 health: LoopHealth | None = None) -> None:
        self.store = store
        self.key = key
        self.rate = rate
        self.interval = (1 + SAFETY_MARGIN) / rate if rate else 0.0
        self.chat_interval = 1 / chat_rate if chat_rate else 0.0
        self._health = health
        self._name = f"{key.split(':')[0]}-send-budget"
        self._one_ahead = asyncio.Lock()  # a process holds one reminder slot at a time
        self._spare_at: float | None = None  # a reminder slot whose resident was someone else's: still free
        self._failing = False
        self.first_backoff_s = FIRST_BACKOFF_S

    def at(self, rate: float, chat_rate: float | None = None) -> SendBudget:
        """The same bot's budget (same store and key) at the given rates: the reminder sender's."""
        return SendBudget(self.store, self.key, rate, chat_rate, self._health)

    async def reply_slot(self, chat_id: str) -> None:
        """Wait for the bot's next slot; the chat is only marked, so a reminder to it waits."""
        if self.rate:
            await asyncio.sleep((await self._take(self._request(chat_id, wait_for_chat=False))).wait)

    @asynccontextmanager
    async def reminder(self, chat_id: str) -> AsyncIterator[ReminderSlot]:
        """The bot's next slot and the chat's, held from ``REMINDER_LEAD_S`` before it comes: claim the
        reminder inside, then ``arrive()`` outside. One slot at a time per process: the next reminder
        asks only once this one is claimed, and gets the slot right after it. A ``busy`` slot is none.
        """
        if not self.rate:
            yield ReminderSlot(self, time.monotonic())
            return
        async with self._one_ahead:
            grant = await self._grant(chat_id)
            if grant.granted:
                slot = ReminderSlot(self, time.monotonic() + grant.wait)
                await asyncio.sleep(slot.at - REMINDER_LEAD_S - time.monotonic())
                yield slot
                return
        # The chat is busy: most likely another process has just reminded this resident, which the claim
        # tells at once; if not, the reminder is claimed now and waits for the chat (ask again from ``at``).
        yield ReminderSlot(self, time.monotonic() + grant.wait, busy=True)

    async def reminder_slot(self, chat_id: str) -> None:
        """Wait for a reminder's slot (nothing to claim)."""
        while True:
            async with self.reminder(chat_id) as slot:
                pass
            if await slot.arrive() and not slot.busy:
                return

    async def _grant(self, chat_id: str) -> Grant:
        """A new slot, or the spare one with the chat's slot alone (marked from the spare's moment)."""
        spare, self._spare_at = self._spare_at, None
        wait = spare - time.monotonic() if spare is not None else 0.0
        if spare is None or wait < -SPARE_FOR_S:  # none, or too long ago: sending on it now could make a burst
            return await self._take(self._request(chat_id, wait_for_chat=True, lead=REMINDER_LEAD_S))
        if not self.chat_interval:
            return Grant(True, max(0.0, wait))
        chat = await self._take(SlotRequest(None, 0.0, chat_key(self.key, chat_id),
                                            self.chat_interval + max(0.0, wait), wait_for_chat=True))
        if not chat.granted:
            self._spare_at = spare  # for the next reminder, to another chat
            return chat
        return Grant(True, max(0.0, wait))

    async def hold(self, seconds: float) -> None:
        """The platform asked the whole bot to wait: other processes wait too (best effort)."""
        if not self.rate:
            return
        try:
            await self.store.hold(self.key, seconds)
        except Exception as exc:  # this process pauses anyway; the others meet the platform's answer themselves
            log.warning("%s: sharing a pause failed (%s)", self._name, exc.__class__.__name__)

    def _request(self, chat_id: str, wait_for_chat: bool, lead: float = 0.0) -> SlotRequest:
        chat = chat_key(self.key, chat_id) if self.chat_interval else None
        return SlotRequest(self.key, self.interval, chat, self.chat_interval, wait_for_chat, lead)

    async def _take(self, request: SlotRequest) -> Grant:
        backoff = self.first_backoff_s
        while True:
            try:
                grant = await self.store.take(request)
            except Exception as exc:  # asyncio.CancelledError is not one: stopping still stops
                if not self._failing:
                    self._failing = True
                    log.error("%s: the store failed (%s); sending waits for it", self._name, exc.__class__.__name__)
                if self._health is not None:
                    self._health.failing(self._name)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            if self._failing:
                self._failing = False
                log.info("%s: the store answers again", self._name)
            if self._health is not None:
                self._health.ok(self._name)
            return grant
