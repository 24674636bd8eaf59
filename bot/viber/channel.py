"""The Viber channel: an adapter on the delivery pipeline (bot/delivery), sending through Viber's REST API.

The transport is our own (aiohttp, with timeouts, to a configurable API URL): the viberbot SDK's is
synchronous (`requests`, no timeout), has a fixed API URL and compares signatures with `==`. The
SDK still parses callbacks and builds message payloads (bot/viber/messages.py).

Like Telegram, a message callback is recorded in the database (unique on its 64-bit
message_token, kept as text, never as a float) before Viber gets its 200, and handled from there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import aiohttp
from aiohttp import web
from viberbot.api.viber_requests import ViberMessageRequest, create_request

from core.events import ChatRef, Resumed, Started
from core.service import Outcome
from bot.bootstrap import App
from bot.delivery.adapter import Parsed, Recorded
from bot.delivery.results import SENT, Rejected, RetryLater, SendResult, Unreachable
from bot.dialogs.chart_drawer import PendingPicture
from bot.dialogs.payment_qr import qr_drawn
from bot.dialogs.common import continue_row
from bot.dialogs.render import render_all, split_text
from bot.metrics import Metrics
from bot.photos.untrusted_url import UntrustedPictures
from bot.viber.messages import CHANNEL, MAX_TEXT, chat_of, event_of, picture_message, text_message

if TYPE_CHECKING:
    from bot.delivery.pipeline import Pipeline

log = logging.getLogger(__name__)

STATUS_OK = 0
STATUS_TOO_MANY_REQUESTS = 12
# receiverNotRegistered, receiverNotSubscribed, receiverNoSuitableDevice: the resident cannot be reached
UNREACHABLE = {5, 6, 11}
# invalidAuthToken, publicAccountBlocked/NotFound/Suspended, webhookNotSet: the bot's own state, which the
# operator fixes; the message itself is fine, so it waits
BOT_STATE = {2, 7, 8, 9, 10}
WEBHOOK_EVENTS = ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"]
MEDIA_NAME = re.compile(r"[A-Za-z0-9_-]{32}\.png")  # secrets.token_urlsafe(24), as _publish names them
MAX_PAUSE_S = 60.0


@dataclass(frozen=True)
class _Picture:
    """A drawn picture, published (kept under a URL) only when it is about to be sent."""

    receiver: str
    caption: str
    png: bytes


class ViberSetWebhookFailed(Exception):
    pass


class ViberChannel:
    name = CHANNEL

    def __init__(self, app: App, metrics: Metrics) -> None:
        settings = app.settings
        assert settings.viber_token is not None and settings.public_url is not None
        self._app = app
        self._metrics = metrics
        self._charts = app.charts
        self._token = settings.viber_token.get_secret_value()
        self._api = settings.viber_api_url.rstrip("/")
        self._public = settings.public_url.rstrip("/")
        self._sender = {"name": settings.viber_name[:28]} | ({"avatar": settings.viber_avatar} if settings.viber_avatar
                                                             else {})
        self._http: aiohttp.ClientSession | None = None
        # residents' pictures, from wherever Viber keeps them; loopback too only beside a fake Viber
        self._photos = UntrustedPictures(loopback=settings.viber_media_local)
        # the pictures Viber fetches, in the database: any process of the bot serves any of them
        assert app.pictures is not None
        self._media = app.pictures
        self._pipeline: Pipeline | None = None
        self.backoff_s = 1.0  # the first pause after "too many requests"; doubles on each repeat
        self._pause_s = self.backoff_s

    # wiring

    def mount(self, web_app: web.Application, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        web_app.router.add_post("/viber/webhook", self.webhook)
        web_app.router.add_get("/viber/media/{name}", self._media_file)

    def loops(self, pipeline: Pipeline) -> dict[str, Callable[[], Awaitable[None]]]:
        self._pipeline = pipeline
        return {"viber-set-webhook": self._set_webhook}

    def open_client(self) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15, connect=5))

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        await self._photos.close()

    async def _set_webhook(self) -> None:
        """After the server listens (Viber checks the URL); the supervisor retries it until Viber takes it."""
        result = await self._post("set_webhook", {"url": f"{self._public}/viber/webhook",
                                                  "event_types": WEBHOOK_EVENTS, "send_name": True,
                                                  "send_photo": False})
        if result.get("status") != STATUS_OK:
            raise ViberSetWebhookFailed(f"status {result.get('status')}")
        log.info("viber: webhook set")

    # inbound

    async def webhook(self, request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:  # over the server's 2 MiB: no callback is that large
            return self._malformed()
        given = request.headers.get("X-Viber-Content-Signature", "").encode()
        expected = hmac.new(self._token.encode(), body, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(given, expected):
            self._metrics.updates.labels(CHANNEL, "refused").inc()
            return web.Response(status=403, text="bad signature")
        try:
            payload = body.decode("utf-8")
            data = json.loads(payload)
            event = data["event"] if isinstance(data, dict) else None
            if not isinstance(event, str):
                raise ValueError("no event")
        except Exception:  # not UTF-8, not JSON, nested beyond reason, no event
            return self._malformed()
        if event == "message":
            return await self._on_message(data, payload)
        if event == "conversation_started":
            return await self._on_conversation_started(data)
        if event in ("subscribed", "unsubscribed"):
            user = data.get("user") if event == "subscribed" else {"id": data.get("user_id")}
            if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
                return self._malformed()
            assert self._pipeline is not None
            try:
                await self._pipeline.outbox.set_reachable(chat_of(user["id"]), event == "subscribed")
            except Exception as exc:  # Viber sends it again
                log.error("viber: recording %s failed (%s)", event, exc.__class__.__name__)
                return web.Response(status=503)
            self._metrics.updates.labels(CHANNEL, event).inc()
            return web.Response(status=200)
        self._metrics.updates.labels(CHANNEL, "ignored").inc()
        return web.Response(status=200)  # webhook check, delivered, seen, failed, and what Viber adds later

    def _malformed(self) -> web.Response:
        self._metrics.updates.labels(CHANNEL, "malformed").inc()
        return web.Response(status=400, text="not a Viber callback")

    async def _on_message(self, data: dict[str, Any], payload: str) -> web.Response:
        token = data.get("message_token")
        sender = data.get("sender")
        message = data.get("message")
        if (not isinstance(token, int) or isinstance(token, bool) or not isinstance(sender, dict)
                or not isinstance(sender.get("id"), str) or not sender["id"] or not isinstance(message, dict)
                or not isinstance(message.get("type"), str)):
            return self._malformed()
        try:
            request = create_request(data)
        except Exception:  # the SDK refuses a message it cannot read: the callback is malformed
            return self._malformed()
        assert self._pipeline is not None
        try:
            await self._pipeline.accept(str(token), payload, request)
        except Exception as exc:  # not recorded: Viber retries a callback that is not answered 200
            log.error("viber: recording callback %s failed (%s)", token, exc.__class__.__name__)
            return web.Response(status=503)
        return web.Response(status=200)

    async def _on_conversation_started(self, data: dict[str, Any]) -> web.Response:
        """The one moment a bot may speak first: the welcome goes back in the response body."""
        user = data.get("user")
        token = data.get("message_token")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
            return self._malformed()
        chat = chat_of(user["id"])
        try:
            outcome = await self._app.service.handle(Started(chat), inbound_id=f"started:{token}")
            if outcome.duplicate:
                outcome = await self._app.service.handle(Resumed(chat))
        except Exception as exc:  # the resident can still write; a 500 would only make Viber retry
            log.error("viber conversation_started %s failed: %s", token, exc.__class__.__name__)
            self._metrics.errors.labels(CHANNEL, "handling").inc()
            return web.Response(status=200)
        rendered = render_all(outcome.replies, outcome.language, MAX_TEXT)
        if not rendered:
            return web.Response(status=200)
        text = "\n\n".join(r.text for r in rendered)[:MAX_TEXT]
        self._metrics.updates.labels(CHANNEL, "handled").inc()
        return web.json_response({"sender": self._sender, **text_message(rendered[-1], text, True)})

    def parse(self, item: Recorded) -> Parsed:
        request = item.parsed
        if not isinstance(request, ViberMessageRequest):
            request = create_request(json.loads(item.payload))
        return Parsed(event_of(request))

    def sender(self, item: Recorded) -> ChatRef | None:
        try:
            sender = json.loads(item.payload).get("sender") or {}
            return chat_of(sender["id"]) if isinstance(sender.get("id"), str) and sender["id"] else None
        except Exception:  # a best guess only
            return None

    async def acknowledge(self, token: str, outcome: Outcome | None = None) -> None:
        return None  # Viber has nothing to acknowledge

    # pictures residents send: a picture message's media URL, fetched only from the public internet

    async def fetch_photo(self, ref: str, max_bytes: int, timeout_s: float) -> bytes:
        """The media URL is the sender's to choose: fetched like any untrusted URL (bot/photos/untrusted_url.py)."""
        return await self._photos.fetch(ref, max_bytes, timeout_s)

    # outbound

    def render(self, outcome: Outcome) -> list[object]:
        messages: list[object] = []
        replies = outcome.replies
        if replies and not replies[-1].buttons:
            # Viber's keyboard is the last message's: a notice without buttons (a household member's change, "your
            # data is deleted") would leave the resident none at all; "continue" shows their screen again
            replies = (*replies[:-1], replace(replies[-1], buttons=(continue_row(),)))
        for rendered in render_all(replies, outcome.language, MAX_TEXT):
            if rendered.chart is not None:
                messages.append(PendingPicture(partial(self._charts.draw, rendered.chart),
                                               partial(_Picture, outcome.chat.chat_id, rendered.chart.title)))
            if rendered.qr is not None:
                messages.append(PendingPicture(partial(qr_drawn, rendered.qr.link),
                                               partial(_Picture, outcome.chat.chat_id, rendered.qr.caption)))
            parts = split_text(rendered.text, MAX_TEXT)
            for i, part in enumerate(parts):
                messages.append((outcome.chat.chat_id, text_message(rendered, part, i == len(parts) - 1)))
        return messages

    async def send(self, message: object) -> SendResult:
        if isinstance(message, PendingPicture) and (message := await message.drawn()) is None:
            return SENT  # not drawn (logged): the text goes out without the picture (a QR's link is in it)
        if isinstance(message, _Picture):
            try:
                message = message.receiver, picture_message(await self._publish(message.png, message.receiver),
                                                            message.caption)
            except Exception as exc:  # the database did not keep it: drawn again on the next try
                return RetryLater(exc.__class__.__name__)
        receiver, content = cast(tuple[str, dict[str, Any]], message)
        try:
            result = await self._post("send_message", {"receiver": receiver, "sender": self._sender, **content})
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return RetryLater(exc.__class__.__name__)
        status = result.get("status")
        if status == STATUS_OK:
            self._pause_s = self.backoff_s
            return SENT
        self._metrics.errors.labels(CHANNEL, f"status_{status}").inc()
        if status in UNREACHABLE:
            return Unreachable(f"status_{status}")
        if status == STATUS_TOO_MANY_REQUESTS:
            pause, self._pause_s = self._pause_s, min(self._pause_s * 2, MAX_PAUSE_S)
            return RetryLater("status_12", pause, everyone=True)
        if status in BOT_STATE or not isinstance(status, int) or status < 0:
            return RetryLater(f"status_{status}")
        return Rejected(f"status_{status}")

    async def _post(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """One REST call; an HTTP error comes back as a negative status, a body that is not JSON raises."""
        self.open_client()
        assert self._http is not None
        async with self._http.post(f"{self._api}/{method}", json=payload,
                                   headers={"X-Viber-Auth-Token": self._token}) as response:
            if response.status != 200:
                return {"status": -response.status, "status_message": f"HTTP {response.status}"}
            answer = await response.json(content_type=None)
            return answer if isinstance(answer, dict) else {"status": -1}

    # pictures: Viber fetches them by URL, from this server, under names nobody can guess

    async def _publish(self, png: bytes, receiver: str) -> str:
        name = f"{secrets.token_urlsafe(24)}.png"
        await self._media.put(name, png, chat_of(receiver))
        return f"{self._public}/viber/media/{name}"

    async def _media_file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not MEDIA_NAME.fullmatch(name):
            return web.Response(status=404)
        try:
            png = await self._media.get(name)
        except Exception as exc:  # Viber fetches again later; the database's trouble shows in /healthz elsewhere
            log.error("viber: reading a picture failed (%s)", exc.__class__.__name__)
            return web.Response(status=503)
        if png is None:
            return web.Response(status=404)
        return web.Response(body=png, content_type="image/png")
