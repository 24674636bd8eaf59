"""The Telegram channel: an adapter on the delivery pipeline (bot/delivery).

aiogram is the client: its types parse updates and its methods make the calls. Its dispatcher and
webhook handler are not used: the handler answers 500 to a body that is not JSON and acknowledges
updates before anything is stored, and our three update kinds need no routing beyond `parse` below.
Here an update is recorded (unique on update_id) before Telegram gets its 200 — or, when polling,
before the offset moves past it — and handled from that record, once.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.methods import EditMessageReplyMarkup, EditMessageText, GetUpdates, SendMessage, SendPhoto
from aiogram.methods.base import TelegramMethod
from aiogram.types import BotCommand, BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from aiohttp import web

from core.events import ChatRef, PhotoProblem
from core.service import Outcome
from bot.bootstrap import App
from bot.delivery.adapter import Parsed, PhotoRefused, Recorded
from bot.delivery.results import SENT, Rejected, RetryLater, SendResult, Unreachable
from bot.dialogs.chart_drawer import PendingPicture
from bot.dialogs.payment_qr import qr_drawn
from bot.dialogs.render import Rendered, render_all, render_text, split_text
from bot.metrics import Metrics
from bot.telegram.translate import CHANNEL, chat_of, from_callback, from_message

if TYPE_CHECKING:
    from bot.delivery.pipeline import Pipeline

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_NOTICE = 200  # answerCallbackQuery's text
NOT_MODIFIED = "message is not modified"  # Telegram's answer to an edit that changes nothing
KEYBOARDS_REMEMBERED = 10_000  # chats whose last keyboard this process knows
DOWNLOAD_CHUNK = 64 * 1024
FILE_TOO_BIG = "file is too big"  # getFile's answer for a file over what bots may download (20 MB)
COMMANDS = {
    "uk": [("start", "Почати спочатку"), ("menu", "Головне меню"), ("cancel", "Скасувати"),
           ("help", "Довідка й правила"), ("language", "Мова / Language")],
    "en": [("start", "Start over"), ("menu", "Main menu"), ("cancel", "Cancel"),
           ("help", "Help and rules"), ("language", "Language / Мова")],
}


@dataclass(frozen=True)
class EditOrSend:
    """The pressed message becomes the new screen; should Telegram refuse the edit (too old, gone),
    the screen is sent as a new message instead: a reply is never lost to an edit."""

    edit: EditMessageText
    fallback: SendMessage


class RawGetUpdates(GetUpdates):
    """getUpdates answered as plain JSON: one update aiogram cannot parse must not cost the others."""

    __returning__ = list[dict[str, Any]]


def make_bot(token: str, api_url: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url), timeout=30)
    return Bot(token, session=session)


def parse_update(data: object, bot: Bot) -> Update:
    """An update as aiogram's model; a callback query without ``chat_instance`` (Telegram sends
    them, aiogram refuses them) is read with an empty one."""
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        raise ValueError("not an update")
    callback = data.get("callback_query")
    if isinstance(callback, dict) and "chat_instance" not in callback:
        data = {**data, "callback_query": {**callback, "chat_instance": ""}}
    return Update.model_validate(data, context={"bot": bot})


class TelegramChannel:
    name = CHANNEL

    def __init__(self, app: App, metrics: Metrics, bot: Bot | None = None) -> None:
        settings = app.settings
        assert settings.telegram_token is not None
        self._metrics = metrics
        self._charts = app.charts
        self.bot = bot or make_bot(settings.telegram_token.get_secret_value(), settings.telegram_api_url)
        secret = settings.telegram_webhook_secret
        self._secret = secret.get_secret_value().encode() if secret else b""
        self._webhook_url = f"{settings.public_url.rstrip('/')}/telegram/webhook" if settings.public_url else None
        self._photo_max_bytes = settings.photo_max_bytes
        self._pipeline: Pipeline | None = None
        self._offset: int | None = None
        self._keyboards: dict[int, int] = {}  # chat -> the message holding the last keyboard this process gave

    # wiring

    def mount(self, web_app: web.Application, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        web_app.router.add_post("/telegram/webhook", self.webhook)

    def loops(self, pipeline: Pipeline) -> dict[str, Callable[[], Awaitable[None]]]:
        self._pipeline = pipeline
        loops: dict[str, Callable[[], Awaitable[None]]] = {"telegram-commands": self._set_commands}
        if self._webhook_url:
            loops["telegram-set-webhook"] = self._set_webhook
        else:
            loops["telegram-polling"] = self._poll
        return loops

    async def close(self) -> None:
        await self.bot.session.close()

    async def _set_commands(self) -> None:
        """The command menu; the supervisor retries it until Telegram takes it."""
        await self._wait_out_retry_after(self._commands)
        log.info("telegram: command menu set")

    async def _commands(self) -> None:
        for language, commands in COMMANDS.items():
            await self.bot.set_my_commands([BotCommand(command=c, description=d) for c, d in commands],
                                           language_code=None if language == "uk" else language)

    async def _set_webhook(self) -> None:
        async def call() -> None:
            await self.bot.set_webhook(self._webhook_url or "", secret_token=self._secret.decode(),
                                       allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)

        await self._wait_out_retry_after(call)
        log.info("telegram: webhook mode")

    async def _wait_out_retry_after(self, call: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await call()
                return
            except TelegramRetryAfter as exc:
                log.warning("telegram: %s: retry after %s s", exc.method.__api_method__, exc.retry_after)
                await asyncio.sleep(exc.retry_after)

    # inbound

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode()
        if not self._secret or not hmac.compare_digest(given, self._secret):
            self._metrics.updates.labels(CHANNEL, "refused").inc()
            return web.Response(status=401, text="wrong secret token")
        try:
            payload = (await request.read()).decode("utf-8")
            update = parse_update(json.loads(payload), self.bot)
        except Exception:  # not UTF-8, not JSON, nested beyond reason, not an update: Telegram's bug or a forgery
            self._metrics.updates.labels(CHANNEL, "malformed").inc()
            return web.Response(status=400, text="not a Telegram update")
        assert self._pipeline is not None
        try:
            await self._pipeline.accept(str(update.update_id), payload, update)
        except Exception as exc:  # not recorded: Telegram delivers it again later
            log.error("telegram: recording update %s failed (%s)", update.update_id, exc.__class__.__name__)
            return web.Response(status=503, text="try again later")
        return web.Response(status=200)

    async def _poll(self) -> None:
        """Long polling; recorded first, so the next getUpdates (with the higher offset) confirms them."""
        assert self._pipeline is not None
        await self.bot.delete_webhook(drop_pending_updates=False)  # getUpdates is refused while one is set
        log.info("telegram: long polling")
        while True:
            try:
                raw: list[Any] = cast(list[Any], await self.bot(
                    RawGetUpdates(offset=self._offset, timeout=25, allowed_updates=ALLOWED_UPDATES)))
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
                continue
            self._pipeline.health.ok("telegram-polling")
            events = [(str(u["update_id"]), json.dumps(u, ensure_ascii=False)) for u in raw
                      if isinstance(u, dict) and type(u.get("update_id")) is int]
            if len(events) < len(raw):
                self._metrics.updates.labels(CHANNEL, "malformed").inc(len(raw) - len(events))
            if events:
                await self._pipeline.record_polled(events)
                self._offset = max(int(e) for e, _ in events) + 1

    def parse(self, item: Recorded) -> Parsed:
        update = item.parsed if isinstance(item.parsed, Update) else parse_update(json.loads(item.payload), self.bot)
        if update.message is not None:
            if update.message.chat.type != "private":
                return Parsed()
            return Parsed(from_message(update.message, self._photo_max_bytes))
        if update.callback_query is not None:
            callback = update.callback_query
            if callback.message is None or callback.message.chat.type != "private":
                return Parsed(acknowledge=callback.id)
            return Parsed(from_callback(callback), acknowledge=callback.id)
        if update.my_chat_member is not None and update.my_chat_member.chat.type == "private":
            status = update.my_chat_member.new_chat_member.status
            return Parsed(reachable=(chat_of(update.my_chat_member.chat.id), status not in ("kicked", "left")))
        return Parsed()

    def sender(self, item: Recorded) -> ChatRef | None:
        try:
            data = json.loads(item.payload)
            message = data.get("message") or (data.get("callback_query") or {}).get("message") or {}
            chat = message.get("chat") or {}
            if chat.get("type") == "private" and type(chat.get("id")) is int:
                return chat_of(chat["id"])
        except Exception:  # a best guess only
            pass
        return None

    async def acknowledge(self, token: str, outcome: Outcome | None = None) -> None:
        notice = None
        if outcome is not None and outcome.notice is not None and _notice_only(outcome):
            notice = render_text(outcome.notice, outcome.language)[:MAX_NOTICE]
        try:
            await self.bot.answer_callback_query(token, text=notice)  # stops the spinner on the button
        except (TelegramAPIError, ClientDecodeError, aiohttp.ClientError, TimeoutError) as exc:
            log.info("telegram: callback answer failed (%s)", exc.__class__.__name__)  # the press still counts

    # pictures residents send

    async def fetch_photo(self, ref: str, max_bytes: int, timeout_s: float) -> bytes:
        """getFile, then the file from the same API server, counted as it arrives; ``timeout_s`` covers both.

        Logs and the refusal carry class names only: a file URL holds the bot's token, a file id is the resident's.
        """
        try:
            async with asyncio.timeout(timeout_s):
                found = await self.bot.get_file(ref)
                if found.file_size is not None and found.file_size > max_bytes:
                    raise PhotoRefused(PhotoProblem.TOO_LARGE, "declared size")
                if not found.file_path:  # Telegram gives none for a file bots may not download
                    raise PhotoRefused(PhotoProblem.UNAVAILABLE, "no file path")
                return await self._download(found.file_path, max_bytes, math.ceil(timeout_s))
        except PhotoRefused as exc:
            log.info("telegram: photo refused (%s)", exc)
            raise
        except TelegramBadRequest as exc:
            problem = PhotoProblem.TOO_LARGE if FILE_TOO_BIG in exc.message else PhotoProblem.UNAVAILABLE
            log.info("telegram: photo not fetched (%s, %s)", exc.__class__.__name__, problem.value)
            raise PhotoRefused(problem, exc.__class__.__name__) from None
        except (TelegramAPIError, ClientDecodeError, aiohttp.ClientError, TimeoutError) as exc:
            # not chained: an aiohttp error's text holds the file URL, and with it the token
            log.info("telegram: photo not fetched (%s)", exc.__class__.__name__)
            raise PhotoRefused(PhotoProblem.UNAVAILABLE, exc.__class__.__name__) from None

    async def _download(self, path: str, max_bytes: int, timeout_s: int) -> bytes:
        """Never more than ``max_bytes`` held: the file may be larger than getFile said."""
        url = self.bot.session.api.file_url(self.bot.token, path)
        data = bytearray()
        async with aclosing(self.bot.session.stream_content(url, timeout=timeout_s,
                                                            chunk_size=DOWNLOAD_CHUNK)) as chunks:
            async for chunk in chunks:
                if len(data) + len(chunk) > max_bytes:
                    raise PhotoRefused(PhotoProblem.TOO_LARGE, "more bytes than the limit")
                data += chunk
        return bytes(data)

    # outbound

    def render(self, outcome: Outcome) -> list[object]:
        """A press is answered on its own message: a screen alone replaces it, anything more goes out as
        new messages after its keyboard is taken away; a notice alone is the callback's answer."""
        if _notice_only(outcome):
            return []
        chat_id = int(outcome.chat.chat_id)
        messages = render_all(outcome.replies, outcome.language, MAX_TEXT)
        calls: list[object] = []
        if outcome.origin.isdigit():
            origin = int(outcome.origin)
            if len(outcome.replies) == 1 and _fits_an_edit(messages):
                [screen] = messages
                markup = _keyboard(screen.buttons)
                return [EditOrSend(EditMessageText(chat_id=chat_id, message_id=origin, text=screen.text,
                                                   reply_markup=markup),
                                   SendMessage(chat_id=chat_id, text=screen.text, reply_markup=markup))]
            calls.append(EditMessageReplyMarkup(chat_id=chat_id, message_id=origin))  # no markup: no keyboard
        for rendered in messages:
            if rendered.chart is not None:
                calls.append(PendingPicture(partial(self._charts.draw, rendered.chart),
                                            partial(_photo, chat_id, rendered.chart.title)))
            if rendered.qr is not None:
                calls.append(PendingPicture(partial(qr_drawn, rendered.qr.link),
                                            partial(_photo, chat_id, rendered.qr.caption, filename="payment-qr.png")))
            parts = split_text(rendered.text, MAX_TEXT)
            markup = _keyboard(rendered.buttons)
            for i, part in enumerate(parts):
                calls.append(SendMessage(chat_id=chat_id, text=part, reply_markup=markup if i == len(parts) - 1
                                         else None))
        return calls

    async def send(self, message: object) -> SendResult:
        if isinstance(message, PendingPicture) and (message := await message.drawn()) is None:
            return SENT  # not drawn (logged): the text goes out without the picture (a QR's link is in it)
        if isinstance(message, EditOrSend):
            return await self._edit(message.edit, message.fallback)
        if isinstance(message, EditMessageReplyMarkup):
            return await self._edit(message, None)
        assert isinstance(message, TelegramMethod)
        return await self._call(message)

    async def _edit(self, edit: TelegramMethod[Any], fallback: SendMessage | None) -> SendResult:
        try:
            return await self._call(edit, refused=True)
        except TelegramBadRequest as exc:
            if NOT_MODIFIED in exc.message or fallback is None:
                return SENT  # shown already (a send resumed after a crash), or a keyboard that cannot go
            self._metrics.errors.labels(CHANNEL, "edit_refused").inc()
            return await self._call(fallback)

    async def _call(self, method: TelegramMethod[Any], refused: bool = False) -> SendResult:
        """One call's answer as a SendResult; with ``refused``, a 400 is raised for the caller to read."""
        try:
            answer = await self.bot(method)
            await self._keep_one_keyboard(method, answer)
            return SENT
        except TelegramRetryAfter as exc:
            self._metrics.errors.labels(CHANNEL, "retry_after").inc()
            return RetryLater("retry_after", float(exc.retry_after), everyone=True)
        except TelegramForbiddenError:
            self._metrics.errors.labels(CHANNEL, "forbidden").inc()
            return Unreachable("forbidden")
        except (TelegramBadRequest, TelegramEntityTooLarge) as exc:
            if refused and isinstance(exc, TelegramBadRequest):
                raise
            return Rejected(exc.__class__.__name__)
        except (TelegramAPIError, ClientDecodeError, aiohttp.ClientError, TimeoutError) as exc:
            # 5xx, a proxy's HTML page, the network, a token or API URL being fixed (401, 404): all pass
            return RetryLater(exc.__class__.__name__)

    async def _keep_one_keyboard(self, method: TelegramMethod[Any], answer: object) -> None:
        """A new keyboard takes the chat's previous one away (after a typed answer, say). Best effort, from
        this process's memory: a keyboard it does not know of stays, and its buttons answer as stale."""
        if not isinstance(method, SendMessage | EditMessageText | EditMessageReplyMarkup) or \
                not isinstance(answer, Message):
            return
        chat_id = answer.chat.id
        previous = self._keyboards.pop(chat_id, None)
        if method.reply_markup is None:
            if previous is not None and previous != answer.message_id:
                self._keyboards[chat_id] = previous
            return
        self._keyboards[chat_id] = answer.message_id
        if len(self._keyboards) > KEYBOARDS_REMEMBERED:
            del self._keyboards[next(iter(self._keyboards))]
        if previous is None or previous == answer.message_id:
            return
        try:
            await self.bot(EditMessageReplyMarkup(chat_id=chat_id, message_id=previous))
        except (TelegramAPIError, ClientDecodeError, aiohttp.ClientError, TimeoutError) as exc:
            log.info("telegram: taking an old keyboard away failed (%s)", exc.__class__.__name__)


def _notice_only(outcome: Outcome) -> bool:
    """A notice on a pressed button says it all: the screen the resident is on is there already."""
    return outcome.notice is not None and outcome.origin != ""


def _fits_an_edit(messages: list[Rendered]) -> bool:
    return (len(messages) == 1 and messages[0].chart is None and messages[0].qr is None
            and len(messages[0].text) <= MAX_TEXT)


def _photo(chat_id: int, caption: str, png: bytes, filename: str = "history.png") -> SendPhoto:
    return SendPhoto(chat_id=chat_id, photo=BufferedInputFile(png, filename=filename), caption=caption[:MAX_CAPTION])


def _keyboard(rows: tuple[tuple[Any, ...], ...]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=b.label, callback_data=b.payload) for b in row] for row in rows])
