"""Serving the messenger channels from one process and one HTTP server, until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Protocol

from aiohttp import web
from sqlalchemy import text

from bot.bootstrap import App
from bot.http_server import HttpServer
from bot.metrics import Metrics
from bot.reminders import PlatformSender, ReminderRunner
from bot.scheduler import ReminderScheduler
from core.service import Outcome
from bot.settings import Settings

log = logging.getLogger(__name__)


class Channel(Protocol):
    name: str

    async def deliver(self, outcome: Outcome) -> bool: ...

    def mount(self, web_app: web.Application) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


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


def build_channels(app: App, metrics: Metrics) -> list[Channel]:
    channels: list[Channel] = []
    if app.settings.telegram_token:
        from bot.telegram.channel import TelegramChannel

        channels.append(TelegramChannel(app, metrics))
    if app.settings.viber_token:
        from bot.viber.channel import ViberChannel

        channels.append(ViberChannel(app, metrics))
    return channels


def reminder_runner(app: App, channels: list[Channel]) -> ReminderRunner:
    """Campaigns send through the channels, each platform within its own limits."""
    settings = app.settings
    senders = {}
    for channel in channels:
        if channel.name == "telegram":
            senders["telegram"] = PlatformSender(channel, settings.telegram_rate, settings.telegram_chat_rate)
        elif channel.name == "viber":
            senders["viber"] = PlatformSender(channel, settings.viber_rate)
    return ReminderRunner(app, senders)


class Server:
    """The bot's channels behind one HTTP server; used by `run` and by the tests."""

    def __init__(self, app: App, channels: list[Channel] | None = None, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics or Metrics()
        self.channels = channels if channels is not None else build_channels(app, self.metrics)
        self.http = HttpServer(app.settings.http_host, app.settings.http_port, self.metrics, self._health)
        self.scheduler: ReminderScheduler | None = None
        for channel in self.channels:
            channel.mount(self.http.web)

    async def start(self, reminders: bool = True) -> int:
        port = await self.http.start()
        for channel in self.channels:
            await channel.start()
        if reminders and self.channels:
            self.scheduler = ReminderScheduler(self.app.engine, reminder_runner(self.app, self.channels),
                                               self.app.settings.zone)
            self.scheduler.start()
        self.http.ready = True
        return port

    async def stop(self) -> None:
        self.http.ready = False
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.http.stop()  # no new updates; requests in hand finish recording
        for channel in self.channels:
            await channel.stop()  # updates in hand finish; the rest stay recorded

    async def _health(self) -> dict[str, object]:
        async with self.app.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return {"channels": [c.name for c in self.channels], "database": "ok"}


async def serve(app: App) -> int:
    server = Server(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    port = await server.start()
    log.info("serving %s on port %d", ", ".join(c.name for c in server.channels), port)
    await stop.wait()
    log.info("shutting down: finishing updates in hand")
    await server.stop()
    log.info("stopped")
    return 0
