"""Serving a resident's picture as a platform's file server does, for the fake Telegram and Viber."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

PIECE = 64 * 1024


async def send_slowly(request: web.Request, response: web.StreamResponse, data: bytes, delay: float,
                      stopping: asyncio.Event) -> web.StreamResponse:
    """The first kilobyte at once, the rest after ``delay`` seconds (at once when the fake is stopping, but then
    not at all); a client that hangs up (its timeout, its size limit) ends it."""
    await response.prepare(request)
    with contextlib.suppress(ConnectionError):
        await response.write(data[:1024])
        if delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)
        if not stopping.is_set():
            for start in range(1024, len(data), PIECE):
                await response.write(data[start:start + PIECE])
            await response.write_eof()
    return response
