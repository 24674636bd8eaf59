"""The bot's scheduled work: kept readings handed in, and reminder campaigns, one process at a time.

APScheduler 3 (jobs defined here in code, kept in memory: nothing to migrate, nothing synchronous
on the event loop) runs every hour from 09:05 to 20:05 in the city's time zone — never between
02:00 and 04:00, which daylight-saving days repeat or skip — and once shortly after start, to catch
up on whatever became due while the bot was down. Each run is idempotent: finished campaigns are
skipped, unfinished ones resume where they stopped. Kept readings are also handed in every hour
around the clock (a window can open at midnight), and at start.

On PostgreSQL a session advisory lock lets only one process run campaigns; with SQLite one process
serves the bot (see README). A process that finds the lock taken tries again every claim lease while
the other runs: the lock goes with its holder's connection, so a campaign whose process died is taken
over as soon as its inbox and outbox are, not at the next hourly tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bootstrap import App
from bot.delivery.supervisor import LoopHealth
from bot.reminders import ReminderRunner, RunReport

log = logging.getLogger(__name__)

CAMPAIGN_LOCK_KEY = 0x4B4D5F52454D  # "KM_REM"
RUN_HOURS = "9-20"
CATCH_UP_AFTER = timedelta(seconds=5)
RETRY_BACKOFF_S = (10, 60, 300)  # a failed run is tried again after these pauses, then at the next tick
STOP_GRACE_S = 10


@asynccontextmanager
async def campaign_lock(engine: AsyncEngine) -> AsyncIterator[bool]:
    """True while this process may run campaigns; on SQLite always (one process serves the bot)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    async with engine.connect() as connection:
        # no transaction left open for the campaign's hour: a server's idle_in_transaction_session_timeout
        # would end the session, and the lock with it, while this process still runs the campaign
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        got = bool((await connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                             {"key": CAMPAIGN_LOCK_KEY})).scalar())
        try:
            yield got
        finally:
            if got:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": CAMPAIGN_LOCK_KEY})


async def run_locked(engine: AsyncEngine, runner: ReminderRunner, dry_run: bool = False) -> RunReport | None:
    async with campaign_lock(engine) as mine:
        if not mine:
            log.info("reminders: another process is running the campaigns")
            return None
        return await runner.run_due(dry_run=dry_run)


class ReminderScheduler:
    def __init__(self, app: App, runner: ReminderRunner, health: LoopHealth,
                 hand_in_kept: Callable[[], Awaitable[object]], with_campaigns: bool = True) -> None:
        self._app = app
        self._runner = runner
        self._health = health
        self._hand_in_kept = hand_in_kept
        self._with_campaigns = with_campaigns
        self._timezone = app.settings.zone
        self._standby = timedelta(seconds=app.settings.claim_lease_seconds)
        self._scheduler = AsyncIOScheduler(timezone=self._timezone)
        self._running: set[asyncio.Task[object]] = set()

    def start(self) -> None:
        soon = datetime.now(self._timezone) + CATCH_UP_AFTER
        self._scheduler.add_job(self._kept, CronTrigger(minute=1, timezone=self._timezone), id="kept-readings",
                                max_instances=1, coalesce=True, misfire_grace_time=3600)
        self._scheduler.add_job(self._kept, "date", id="kept-readings-at-start", run_date=datetime.now(self._timezone),
                                misfire_grace_time=3600)
        if self._with_campaigns:
            self._scheduler.add_job(self._campaigns, CronTrigger(hour=RUN_HOURS, minute=5, timezone=self._timezone),
                                    id="reminders", max_instances=1, coalesce=True, misfire_grace_time=3600)
            self._scheduler.add_job(self._campaigns, "date", id="catch-up", misfire_grace_time=3600,
                                    run_date=soon)
        self._scheduler.start()

    async def _kept(self) -> None:
        await self._guarded("kept-readings", self._hand_in_kept)

    async def _campaigns(self) -> None:
        await self._guarded("reminders", self._run_or_stand_by)

    async def _run_or_stand_by(self) -> None:
        if await run_locked(self._app.engine, self._runner) is None and self._scheduler.running:
            # another process runs them; one job id, so the hourly tick and this never make two chains
            self._scheduler.add_job(self._campaigns, "date", id="reminders-standby", replace_existing=True,
                                    run_date=datetime.now(self._timezone) + self._standby, misfire_grace_time=3600)

    async def _guarded(self, name: str, job: Callable[[], Awaitable[object]]) -> None:
        """A failing run is logged by class, shows in /healthz and is tried again after a backoff
        (then at the next tick); each run continues where the last one stopped."""
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            for backoff in RETRY_BACKOFF_S:
                try:
                    await job()
                    self._health.ok(name)
                    return
                except Exception as exc:
                    self._health.failing(name)
                    log.error("%s run failed (%s); trying again in %.0f s", name, exc.__class__.__name__, backoff)
                    await asyncio.sleep(backoff)
        finally:
            if task is not None:
                self._running.discard(task)

    async def stop(self) -> None:
        """Let the sends in hand finish, briefly; the campaign resumes at the next start."""
        self._runner.stop()
        self._scheduler.pause()  # no new runs; shutting down first would cancel the running ones (APScheduler 3)
        running = list(self._running)
        try:
            async with asyncio.timeout(STOP_GRACE_S):
                await asyncio.gather(*running, return_exceptions=True)
        except TimeoutError:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        self._scheduler.shutdown(wait=False)
