"""Handing in kept readings from the bot's processes (run, remind, console): the core decides, this counts."""

from __future__ import annotations

import logging

from core.kept_readings import settle_kept_readings
from bot.bootstrap import App
from bot.metrics import Metrics

log = logging.getLogger(__name__)


async def hand_in_kept_readings(app: App, metrics: Metrics | None = None) -> tuple[int, int]:
    """Kept readings whose window is open are handed in, those whose window closed expire; (handed in, expired).

    Receipts and expiry notices wait in the outbox, for whichever process serves the resident's channel.
    """
    report = await settle_kept_readings(app.uow_factory, app.suppliers, app.clock(), app.settings.zone)
    if metrics is not None:
        metrics.kept_readings.labels("handed_in").inc(report.readings_handed_in)
        metrics.kept_readings.labels("expired").inc(report.readings_expired)
    if report.handed_in or report.expired:
        log.info("kept readings: %d submission(s) handed in, %d expired", report.handed_in, report.expired)
    return report.handed_in, report.expired
