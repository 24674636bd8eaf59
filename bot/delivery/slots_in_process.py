"""The send budget's slots in this process's memory: one process sends for the bot (SQLite, the default).

``next_slot`` is the rule every store applies (the PostgreSQL function and the Redis script are the
same few lines in their languages): the slot is the later of now (plus the request's lead) and the
bot's next free time; a
reminder whose chat is not free yet is refused until it is, taking nothing; a grant moves the bot's
time on by one interval and the chat's to a chat interval after the slot.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.delivery.send_budget import Grant, SlotRequest

FORGET_AFTER = 10_000  # chats remembered before the ones no longer spacing anything are dropped


def next_slot(now: float, next_all: float, next_chat: float,
              request: SlotRequest) -> tuple[Grant, float | None, float | None]:
    """The grant, and the bot's and the chat's new next-free times (None: unchanged)."""
    slot = max(now + request.lead, next_all) if request.budget is not None else now + request.lead
    if request.wait_for_chat and next_chat > slot:
        return Grant(False, next_chat - now), None, None
    new_all = slot + request.interval if request.budget is not None else None
    new_chat = max(next_chat, slot + request.chat_interval) if request.chat is not None else None
    return Grant(True, slot - now), new_all, new_chat


class InProcessSlots:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._next: dict[str, float] = {}

    async def take(self, request: SlotRequest) -> Grant:
        now = self._clock()
        next_all = self._next.get(request.budget, now) if request.budget is not None else now
        next_chat = self._next.get(request.chat, now) if request.chat is not None else now
        grant, new_all, new_chat = next_slot(now, next_all, next_chat, request)
        if new_all is not None and request.budget is not None:
            self._next[request.budget] = new_all
        if new_chat is not None and request.chat is not None:
            self._next[request.chat] = new_chat
            if len(self._next) > FORGET_AFTER:
                self._next = {k: v for k, v in self._next.items() if v > now or ":chat:" not in k}
        return grant

    async def hold(self, budget: str, seconds: float) -> None:
        now = self._clock()
        self._next[budget] = max(self._next.get(budget, now), now + seconds)

    async def close(self) -> None:
        pass
