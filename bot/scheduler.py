"""Running reminder campaigns on schedule, in one process at a time.

APScheduler 3 (jobs defined here in code, kept in memory: nothing to migrate, nothing synchronous
on the event loop) runs the campaigns every hour from 09:05 to 20:05 in the city's time zone —
never between 02:00 and 04:00, which daylight-saving days repeat or skip — and once shortly after
start, to catch up on whatever became due while the bot was down. Each run is idempotent: finished
campaigns are skipped, unfinished ones resume where they stopped.

On PostgreSQL a session advisory lock lets only one process run campaigns; with SQLite one process
serves the bot (see README).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.reminders import ReminderRunner, RunReport

log = logging.getLogger(__name__)

CAMPAIGN_LOCK_KEY = 0x4B4D5F52454D  # "KM_REM"
RUN_HOURS = "9-20"
CATCH_UP_AFTER = timedelta(seconds=5)


@asynccontextmanager
async def campaign_lock(engine: AsyncEngine) -> AsyncIterator[bool]:
    """True while this process may run campaigns; on SQLite always (one process serves the bot)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    async with engine.connect() as connection:
        got = bool((await connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                             {"key": CAMPAIGN_LOCK_KEY})).scalar())
        try:
            yield got
        finally:
            if got:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": CAMPAIGN_LOCK_KEY})
            await connection.commit()


async def run_locked(engine: AsyncEngine, runner: ReminderRunner, dry_run: bool = False) -> RunReport | None:
    async with campaign_lock(engine) as mine:
        if not mine:
            log.info("reminders: another process is running the campaigns")
            return None
        return await runner.run_due(dry_run=dry_run)


class ReminderScheduler:
    def __init__(self, engine: AsyncEngine, runner: ReminderRunner, timezone: object) -> None:
        self._engine = engine
        self._runner = runner
        self._timezone = timezone
        self._scheduler = AsyncIOScheduler(timezone=timezone)
        self._running: asyncio.Task[object] | None = None

    def start(self) -> None:
        self._scheduler.add_job(self._run, CronTrigger(hour=RUN_HOURS, minute=5, timezone=self._timezone),
                                id="reminders", max_instances=1, coalesce=True, misfire_grace_time=3600)
        self._scheduler.add_job(self._run, "date", id="catch-up", misfire_grace_time=3600,
                                run_date=datetime.now(self._timezone) + CATCH_UP_AFTER)  # type: ignore[arg-type]
        self._scheduler.start()

    async def _run(self) -> None:
        self._running = asyncio.current_task()
        try:
            await run_locked(self._engine, self._runner)
        except Exception:
            log.exception("reminder run failed; the next run continues it")
        finally:
            self._running = None

    async def stop(self) -> None:
        """Let the chunk in hand finish; the campaign resumes at the next start."""
        self._runner.stop()
        self._scheduler.shutdown(wait=False)
        if self._running is not None:
            await asyncio.gather(self._running, return_exceptions=True)
