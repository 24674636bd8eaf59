"""Charts drawn in a worker process, so that drawing (about 160 ms each) never stalls the event loop.

Channels put a ``PendingPicture`` in their list of platform calls and draw it in their async send path,
when its turn comes. A chart that cannot be drawn in time is left out: the text goes out without it.
matplotlib is imported in the worker only.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from bot.dialogs.render import RenderedChart

log = logging.getLogger(__name__)

# the first drawing also starts the worker and imports matplotlib there (a second or two)
DRAWING_TIME_LIMIT_S = 20.0


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C stops the bot, which then stops the worker


def _draw(chart: RenderedChart) -> bytes:
    from bot.dialogs.chart import chart_png  # in the worker

    return chart_png(chart)


class ChartDrawer:
    """One worker process, started at the first chart and reused; ``close`` stops it."""

    def __init__(self, time_limit_s: float = DRAWING_TIME_LIMIT_S) -> None:
        self.time_limit_s = time_limit_s
        self._pool: ProcessPoolExecutor | None = None

    async def draw(self, chart: RenderedChart) -> bytes | None:
        """The chart as PNG, or None (the error's class is logged) when it could not be drawn in time."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.time_limit_s):
                return await loop.run_in_executor(self._worker(), _draw, chart)
        except Exception as exc:  # a timeout, a worker that died, a bug in drawing: the text still goes out
            log.error("chart not drawn (%s)", exc.__class__.__name__)
            self._stop(kill=True)  # a hung or broken worker is not reused
            return None

    def _worker(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: forking a process that runs an event loop and threads copies their locks
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_ignore_interrupts)
        return self._pool

    def close(self) -> None:
        self._stop(kill=False)

    def _stop(self, kill: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            # ProcessPoolExecutor cannot stop a running task before Python 3.14 (terminate_workers)
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
        pool.shutdown(wait=not kill, cancel_futures=True)


@dataclass(frozen=True)
class PendingPicture:
    """A picture among a channel's platform calls (a chart, a payment QR code), drawn in the channel's async
    send path: ``draw`` gives the PNG, or None when it could not be drawn (logged there); ``call`` makes the
    platform call from it."""

    draw: Callable[[], Awaitable[bytes | None]]
    call: Callable[[bytes], object]

    async def drawn(self) -> object | None:
        """The platform call with the picture, or None when the picture could not be drawn: the text goes out
        without it."""
        png = await self.draw()
        return None if png is None else self.call(png)
