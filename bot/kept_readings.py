"""Handing in kept readings from the bot's processes (run, remind, console): the core decides, this counts."""

from __future__ import annotations

import logging

from bot.bootstrap import App
from bot.metrics import Metrics

log = logging.getLogger(__name__)


async def hand_in_kept_readings(app: App, metrics: Metrics | None = None) -> tuple[int, int]:
    """Kept readings whose window is open are handed in, those whose window closed expire; (handed in, expired)."""
    return 0, 0  # wired to core.kept_readings once it lands
