"""The Telegram channel: webhook or long polling in, through an inbox, replies out.

aiogram is the client and the dispatcher. Its own webhook handler is not used: it answers 500 to a
body that is not JSON and acknowledges updates before anything is stored. Here an update is recorded
in the database (unique on update_id) before Telegram gets its 200 — or, when polling, before the
offset moves past it — and handled from that record, once.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError, TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import GetUpdates, SendMessage, SendPhoto
from aiogram.methods.base import TelegramMethod
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiohttp import web
from pydantic import ValidationError

from core.events import ChatRef, Inbound, Text
from core.service import Outcome
from bot.bootstrap import App
from bot.dialogs.chart import chart_png
from bot.dialogs.render import render_all, render_text, split_text
from bot.channel_records import mark_handled, set_reachable
from bot.inbox_worker import Deliveries, InboxWorker, Recorded
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.recorder import InboxRecorder
from bot.telegram.translate import CHANNEL, chat_of, from_callback, from_message

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_RETRIES = 5
COMMANDS = {
    "uk": [("start", "Почати спочатку"), ("menu", "Головне меню"), ("cancel", "Скасувати"),
           ("help", "Довідка й правила"), ("language", "Мова / Language")],
    "en": [("start", "Start over"), ("menu", "Main menu"), ("cancel", "Cancel"),
           ("help", "Help and rules"), ("language", "Language / Мова")],
}


@dataclass(frozen=True)
class Translated:
    """What aiogram's handlers make of an update: the core's event, and a button press to answer."""

    event: Inbound | None
    inbound_id: str
    callback_id: str | None = None


class Unreachable(Exception):
    """The resident blocked the bot."""


def make_bot(token: str, api_url: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url), timeout=30)
    return Bot(token, session=session)


class TelegramChannel:
    name = CHANNEL

    def __init__(self, app: App, metrics: Metrics, bot: Bot | None = None) -> None:
        settings = app.settings
        assert settings.telegram_token is not None
        self._app = app
        self._metrics = metrics
        self.bot = bot or make_bot(settings.telegram_token.get_secret_value(), settings.telegram_api_url)
        secret = settings.telegram_webhook_secret
        self._secret = secret.get_secret_value().encode() if secret else b""
        self._webhook_url = f"{settings.public_url.rstrip('/')}/telegram/webhook" if settings.public_url else None
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(self._router())
        self.recorder = InboxRecorder(CHANNEL, app.uow_factory, app.clock)
        self.worker = InboxWorker(CHANNEL, app.uow_factory, self._handle_batch)
        self.deliveries = Deliveries()
        self.outbox = Outbox(CHANNEL, app.uow_factory)
        self._polling: asyncio.Task[None] | None = None
        self.paused_until = 0.0  # monotonic time until which Telegram asked us to wait
        self.retry_after_met = 0
        self._stopping = asyncio.Event()

    # wiring

    def mount(self, web_app: web.Application) -> None:
        web_app.router.add_post("/telegram/webhook", self.webhook)

    async def start(self) -> None:
        """After the HTTP server listens: commands menu, unsent replies, webhook or polling, the inbox."""
        try:
            await self._commands_setup()
        except (TelegramAPIError, TelegramNetworkError) as exc:  # cosmetic: the bot works without the menu
            log.warning("telegram: setting the command menu failed (%s)", exc.__class__.__name__)
        self.outbox.start()
        await self.outbox.resend(self.deliver)
        self.worker.start()
        if self._webhook_url:
            self._polling = asyncio.create_task(self._set_webhook(), name="telegram-set-webhook")
        else:
            self._polling = asyncio.create_task(self._poll(), name="telegram-polling")
            log.info("telegram: long polling")

    async def _set_webhook(self) -> None:
        """Until Telegram accepts it: a bot that cannot reach Telegram at start keeps trying."""
        delay = 5.0
        while not self._stopping.is_set():
            try:
                await self.bot.set_webhook(self._webhook_url or "", secret_token=self._secret.decode(),
                                           allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
                log.info("telegram: webhook mode")
                return
            except (TelegramAPIError, TelegramNetworkError) as exc:
                wait = float(exc.retry_after) if isinstance(exc, TelegramRetryAfter) else delay
                log.error("telegram: setWebhook failed (%s); retrying in %.0f s", exc.__class__.__name__, wait)
                await asyncio.sleep(wait)
                delay = min(delay * 2, 300)

    async def stop(self) -> None:
        self._stopping.set()
        if self._polling is not None:
            self._polling.cancel()
            await asyncio.gather(self._polling, return_exceptions=True)
        await self.worker.stop()
        await self.deliveries.wait()
        await self.outbox.stop()
        await self.bot.session.close()

    async def close_client(self) -> None:
        await self.bot.session.close()

    async def _commands_setup(self) -> None:
        for language, commands in COMMANDS.items():
            await self.bot.set_my_commands([BotCommand(command=c, description=d) for c, d in commands],
                                           language_code=None if language == "uk" else language)

    # inbound: webhook and polling record, the worker handles

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode()
        if not self._secret or not hmac.compare_digest(given, self._secret):
            self._metrics.updates.labels(CHANNEL, "refused").inc()
            return web.Response(status=401, text="wrong secret token")
        body = await request.read()
        try:
            data = json.loads(body)
            update = Update.model_validate(data, context={"bot": self.bot})
        except (ValueError, ValidationError):
            self._metrics.updates.labels(CHANNEL, "malformed").inc()
            return web.Response(status=400, text="not a Telegram update")
        payload = body.decode("utf-8")
        if await self.recorder.record(str(update.update_id), payload):
            self.worker.notify(Recorded(str(update.update_id), payload, update))
        return web.Response(status=200)

    async def _poll(self) -> None:
        offset: int | None = None
        backoff = 1.0
        webhook_deleted = False
        while not self._stopping.is_set():
            try:
                if not webhook_deleted:  # getUpdates is refused while a webhook is set
                    await self.bot.delete_webhook(drop_pending_updates=False)
                    webhook_deleted = True
                updates = await self.bot(GetUpdates(offset=offset, timeout=25, allowed_updates=ALLOWED_UPDATES))
                backoff = 1.0
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
                continue
            except (TelegramNetworkError, TelegramAPIError) as exc:
                log.warning("telegram polling failed (%s); retrying in %.0f s", exc.__class__.__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)
                continue
            if not updates:
                continue
            # recorded first: the next getUpdates, with the higher offset, confirms them to Telegram
            async with self._app.uow_factory() as uow:
                await uow.inbox.record_many(CHANNEL, [
                    (str(u.update_id), u.model_dump_json(by_alias=True, exclude_none=True)) for u in updates
                ], self._app.clock())
                await uow.commit()
            offset = updates[-1].update_id + 1
            self.worker.notify()

    async def _handle_batch(self, batch: list[Recorded]) -> None:
        """Translate a batch through aiogram's dispatcher, run its steps in one transaction, send."""
        started = time.perf_counter()
        translated: list[Translated] = []
        settled: list[str] = []  # nothing to converse about: recorded as handled
        for item in batch:
            update = item.parsed if isinstance(item.parsed, Update) else None
            try:
                update = update or Update.model_validate_json(item.payload, context={"bot": self.bot})
                result = await self.dispatcher.feed_update(self.bot, update, inbound_id=item.event_id)
            except ValidationError:
                log.warning("telegram update %s: stored payload is not an update; dropped", item.event_id)
                result = UNHANDLED
            except Exception:
                log.exception("telegram update %s failed", item.event_id)
                self._metrics.errors.labels(CHANNEL, "handling").inc()
                result = UNHANDLED
            if isinstance(result, Translated) and result.event is not None:
                translated.append(result)
                continue
            if result is UNHANDLED:
                self._metrics.updates.labels(CHANNEL, "ignored").inc()
            if isinstance(result, Translated):
                settled.append(item.event_id)
                if result.callback_id:
                    self.deliveries.spawn(result.callback_id, lambda r=result: self._answer_callback(r.callback_id))
            elif result is UNHANDLED:
                settled.append(item.event_id)
        if settled:
            await mark_handled(self._app, CHANNEL, settled)
        if not translated:
            return
        steps = [(t.event, t.inbound_id, t) for t in translated if t.event is not None]
        outcomes = await self._app.service.handle_batch([(event, inbound_id) for event, inbound_id, _ in steps])
        for (event, inbound_id, press), outcome in zip(steps, outcomes):
            chat = event.chat
            if isinstance(outcome, Exception):
                log.error("telegram update %s failed while handling: %s", inbound_id, outcome.__class__.__name__)
                self._metrics.errors.labels(CHANNEL, "handling").inc()
                self._metrics.updates.labels(CHANNEL, "error").inc()
                await mark_handled(self._app, CHANNEL, [inbound_id])
                notice = render_text(Text("error_try_again"), "uk")
                self.deliveries.spawn(chat, lambda p=press, c=chat, n=notice: self._reply_error(p, c, n))
                continue
            self._metrics.updates.labels(CHANNEL, "duplicate" if outcome.duplicate else "handled").inc()
            self.deliveries.spawn(chat, lambda p=press, o=outcome: self._send_outcome(p, o, started))

    async def _send_outcome(self, item: Translated, outcome: Outcome, started: float) -> None:
        if item.callback_id:
            await self._answer_callback(item.callback_id)
        await self.deliver(outcome)
        self.outbox.sent(outcome.outbox_id)
        self._metrics.latency.labels(CHANNEL).observe(time.perf_counter() - started)

    async def _reply_error(self, item: Translated, chat: ChatRef, notice: str) -> None:
        if item.callback_id:
            await self._answer_callback(item.callback_id)
        await self._send_text(chat, notice)

    async def _answer_callback(self, callback_id: str) -> None:
        try:
            await self.bot.answer_callback_query(callback_id)  # stops the spinner on the button
        except TelegramAPIError as exc:  # an old query cannot be answered; the press still counts
            log.info("telegram: callback answer failed (%s)", exc.__class__.__name__)

    # the dispatcher's handlers: only translate; the batch converses and sends

    def _router(self) -> Router:
        router = Router(name="komunalka")
        private = F.chat.type == "private"
        router.message.register(self._on_message, private)
        router.callback_query.register(self._on_callback, F.message.chat.type == "private")
        router.my_chat_member.register(self._on_member, private)
        return router

    async def _on_message(self, message: Message, inbound_id: str) -> Translated:
        return Translated(from_message(message), inbound_id)

    async def _on_callback(self, callback: CallbackQuery, inbound_id: str) -> Translated:
        return Translated(from_callback(callback), inbound_id, callback.id)

    async def _on_member(self, update: ChatMemberUpdated, inbound_id: str) -> None:
        status = update.new_chat_member.status
        reachable = status not in ("kicked", "left")
        async with self._app.uow_factory() as uow:
            if await uow.inbox.mark_handled(CHANNEL, inbound_id, self._app.clock()):
                await uow.residents.set_reachable(chat_of(update.chat.id), reachable)
            await uow.commit()
        self._metrics.updates.labels(CHANNEL, "blocked" if not reachable else "unblocked").inc()

    # outbound

    async def deliver(self, outcome: Outcome) -> bool:
        """Send the replies in order; False when the resident has blocked the bot."""
        chat_id = int(outcome.chat.chat_id)
        try:
            for rendered in render_all(outcome.replies, outcome.language, MAX_TEXT):
                markup = _keyboard(rendered.buttons)
                if rendered.chart is not None:
                    photo = BufferedInputFile(chart_png(rendered.chart), filename="history.png")
                    caption = rendered.chart.title[:MAX_CAPTION]
                    await self._call(SendPhoto(chat_id=chat_id, photo=photo, caption=caption))
                parts = split_text(rendered.text, MAX_TEXT)
                for i, part in enumerate(parts):
                    last = i == len(parts) - 1
                    await self._call(SendMessage(chat_id=chat_id, text=part, reply_markup=markup if last else None))
        except Unreachable:
            await set_reachable(self._app, outcome.chat, False)
            return False
        except TelegramAPIError as exc:
            self._metrics.errors.labels(CHANNEL, "sending").inc()
            log.warning("telegram: sending to a resident failed (%s)", exc.__class__.__name__)
        return True

    async def _send_text(self, chat: ChatRef, text: str) -> None:
        try:
            await self._call(SendMessage(chat_id=int(chat.chat_id), text=text))
        except Unreachable:
            await set_reachable(self._app, chat, False)
        except Exception:
            log.exception("telegram: sending an error notice failed")

    async def _call(self, method: TelegramMethod[Any]) -> Any:
        """One Bot API call: on "retry after" all sending pauses for the time given, then this call
        is retried; a 403 becomes Unreachable."""
        for attempt in range(MAX_RETRIES):
            pause = self.paused_until - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            try:
                result = await self.bot(method)
                if isinstance(method, (SendMessage, SendPhoto)):
                    self._metrics.replies.labels(CHANNEL).inc()
                return result
            except TelegramRetryAfter as exc:
                self._metrics.errors.labels(CHANNEL, "retry_after").inc()
                self.retry_after_met += 1
                log.warning("telegram: flood control, pausing sends for %s s", exc.retry_after)
                self.paused_until = max(self.paused_until, time.monotonic() + exc.retry_after)
                if attempt == MAX_RETRIES - 1:
                    raise
            except TelegramForbiddenError:
                self._metrics.errors.labels(CHANNEL, "forbidden").inc()
                raise Unreachable() from None
        raise AssertionError("unreachable")  # pragma: no cover



def _keyboard(rows: tuple[tuple[Any, ...], ...]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=b.label, callback_data=b.payload) for b in row] for row in rows])
