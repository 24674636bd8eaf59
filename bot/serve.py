"""Serving the messenger channels from one process and one HTTP server, until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid
from datetime import timedelta

from sqlalchemy import text

from bot.bootstrap import App
from bot.delivery.adapter import ChannelAdapter
from bot.delivery.pipeline import Pipeline, PipelineSettings
from bot.delivery.send_budget import SendBudget, budget_key
from bot.delivery.supervisor import LoopHealth, Supervisor
from bot.http_server import HttpServer
from bot.photos.operator import mount_photos
from bot.kept_readings import hand_in_kept_readings
from bot.metrics import Metrics
from bot.reminders import PlatformSender, ReminderRunner
from bot.scheduler import ReminderScheduler
from bot.settings import Settings

log = logging.getLogger(__name__)


def run_problems(settings: Settings) -> list[str]:
    """What keeps `run` from starting, in words an operator can act on."""
    problems = []
    if not (settings.telegram_token or settings.viber_token):
        problems.append("Nothing to serve: set KOMUNALKA_TELEGRAM_TOKEN and/or KOMUNALKA_VIBER_TOKEN, "
                        "or chat on this terminal with `python run_bot.py console`.")
    if settings.telegram_token and settings.public_url and not settings.telegram_webhook_secret:
        problems.append("Webhook mode (KOMUNALKA_PUBLIC_URL is set) needs KOMUNALKA_TELEGRAM_WEBHOOK_SECRET: "
                        "1-256 characters of A-Z, a-z, 0-9, _ and -, that Telegram will send back with every update.")
    secret = settings.telegram_webhook_secret
    if secret and not _valid_secret(secret.get_secret_value()):
        problems.append("KOMUNALKA_TELEGRAM_WEBHOOK_SECRET may hold only 1-256 characters of A-Z, a-z, 0-9, _ and -.")
    if settings.viber_token and not settings.public_url:
        problems.append("Viber delivers only by webhook: set KOMUNALKA_PUBLIC_URL (the https address where this "
                        "server is reachable) to use KOMUNALKA_VIBER_TOKEN.")
    return problems


def _valid_secret(secret: str) -> bool:
    return 1 <= len(secret) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-") for c in secret)


def build_channels(app: App, metrics: Metrics) -> list[ChannelAdapter]:
    channels: list[ChannelAdapter] = []
    if app.settings.telegram_token:
        from bot.telegram.channel import TelegramChannel

        channels.append(TelegramChannel(app, metrics))
    if app.settings.viber_token and app.settings.public_url:
        from bot.viber.channel import ViberChannel

        channels.append(ViberChannel(app, metrics))
    return channels


def build_pipelines(app: App, channels: list[ChannelAdapter], metrics: Metrics,
                    health: LoopHealth) -> list[Pipeline]:
    settings = PipelineSettings(
        owner=f"{socket.gethostname()[:20]}-{os.getpid()}-{uuid.uuid4().hex[:8]}",
        lease=timedelta(seconds=app.settings.claim_lease_seconds),
        max_age=timedelta(hours=app.settings.outbox_max_age_hours),
        single_process=app.engine.dialect.name == "sqlite")
    return [Pipeline(c, app.service, app.uow_factory, app.clock, metrics, health, settings,
                     send_budget(app, c.name, health), intake=app.photos) for c in channels]


def send_budget(app: App, channel: str, health: LoopHealth) -> SendBudget | None:
    """The bot's budget on a platform, keyed by its token (hashed): every process of the bot shares it."""
    settings = app.settings
    if channel == "telegram":
        token = settings.telegram_token.get_secret_value() if settings.telegram_token else None
        return SendBudget(app.send_slots, budget_key(channel, token), settings.telegram_rate,
                          settings.telegram_chat_rate, health)
    if channel == "viber":
        token = settings.viber_token.get_secret_value() if settings.viber_token else None
        return SendBudget(app.send_slots, budget_key(channel, token), settings.viber_rate, None, health)
    return None


def reminder_runner(app: App, pipelines: list[Pipeline], metrics: Metrics | None = None) -> ReminderRunner:
    """Campaigns send through the channels' pipelines, each platform within its own limits."""
    settings = app.settings
    senders = {}
    for pipeline in pipelines:
        if pipeline.channel == "telegram":
            senders["telegram"] = PlatformSender(pipeline, settings.telegram_rate, settings.telegram_chat_rate)
        elif pipeline.channel == "viber":
            senders["viber"] = PlatformSender(pipeline, settings.viber_rate)
    return ReminderRunner(app, senders, metrics=metrics)


class Server:
    """The bot's channels behind one HTTP server; used by `run` and by the tests."""

    def __init__(self, app: App, channels: list[ChannelAdapter] | None = None, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics or Metrics()
        self.health = LoopHealth(app.settings.loop_grace_seconds)
        self.supervisor = Supervisor(self.health)
        channels = channels if channels is not None else build_channels(app, self.metrics)
        self.pipelines = build_pipelines(app, channels, self.metrics, self.health)
        self.channels = channels
        self.http = HttpServer(app.settings.http_host, app.settings.http_port, self.metrics, self._health)
        self.scheduler: ReminderScheduler | None = None
        for pipeline in self.pipelines:
            pipeline.adapter.mount(self.http.web, pipeline)
        mount_photos(self.http.web, app)

    def pipeline(self, channel: str) -> Pipeline:
        return next(p for p in self.pipelines if p.channel == channel)

    async def start(self, reminders: bool = True) -> int:
        """Ready as soon as the server listens and the loops are started; backlogs drain in the background."""
        for pipeline in self.pipelines:
            await pipeline.prepare()
        port = await self.http.start()
        for pipeline in self.pipelines:
            await pipeline.start(self.supervisor)
        self.scheduler = ReminderScheduler(self.app, reminder_runner(self.app, self.pipelines, self.metrics),
                                           self.health, self._hand_in_kept,
                                           with_campaigns=reminders and bool(self.pipelines))
        self.scheduler.start()
        self.http.ready = True
        return port

    async def stop(self) -> None:
        self.http.ready = False
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.http.stop()  # no new updates; requests in hand finish recording
        for pipeline in self.pipelines:
            await pipeline.stop()  # updates in hand finish; the rest stay recorded, claims given back
        await self.supervisor.stop()

    async def _hand_in_kept(self) -> None:
        await hand_in_kept_readings(self.app, self.metrics)
        for pipeline in self.pipelines:
            pipeline.outbox.wake()  # the receipts wait in the outbox

    async def _health(self) -> dict[str, object]:
        failing = self.health.unhealthy()
        if failing:
            raise LoopsFailing(failing)
        async with self.app.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return {"channels": [p.channel for p in self.pipelines], "database": "ok"}


class LoopsFailing(Exception):
    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


async def serve(app: App) -> int:
    server = Server(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    port = await server.start()
    log.info("serving %s on port %d", ", ".join(p.channel for p in server.pipelines), port)
    await stop.wait()
    log.info("shutting down: finishing updates in hand")
    await server.stop()
    log.info("stopped")
    return 0
