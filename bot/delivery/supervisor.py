"""Loops that must run as long as the bot: restarted on any exception, with backoff, and reported.

A loop that keeps failing for longer than the grace period makes /healthz answer 503 with its name.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0


class LoopHealth:
    """Which loops are failing, and since when (monotonic seconds)."""

    def __init__(self, grace_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.grace_s = grace_s
        self._clock = clock
        self._failing_since: dict[str, float] = {}

    def ok(self, name: str) -> None:
        self._failing_since.pop(name, None)

    def failing(self, name: str) -> None:
        self._failing_since.setdefault(name, self._clock())

    def unhealthy(self) -> list[str]:
        """Loops failing for longer than the grace period, by name."""
        now = self._clock()
        return sorted(n for n, since in self._failing_since.items() if now - since > self.grace_s)


class Supervisor:
    def __init__(self, health: LoopHealth, first_backoff_s: float = 1.0) -> None:
        self.health = health
        self._first_backoff = first_backoff_s
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def spawn(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        """Run ``body`` until it returns; restart it after any exception, logging only the class."""
        self._tasks[name] = asyncio.create_task(self._run(name, body), name=name)

    async def _run(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        backoff = self._first_backoff
        while True:
            started = time.monotonic()
            try:
                await body()
                self.health.ok(name)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if time.monotonic() - started > MAX_BACKOFF_S:
                    backoff = self._first_backoff  # it ran well for a while: start the backoff afresh
                self.health.failing(name)
                log.error("%s failed (%s); restarting in %.0f s", name, exc.__class__.__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    def running(self, name: str) -> bool:
        task = self._tasks.get(name)
        return task is not None and not task.done()

    async def stop(self, *names: str) -> None:
        """Cancel these loops (all when none are named) and wait for them to end."""
        chosen = [self._tasks.pop(n) for n in (names or list(self._tasks)) if n in self._tasks]
        for task in chosen:
            task.cancel()
        await asyncio.gather(*chosen, return_exceptions=True)
