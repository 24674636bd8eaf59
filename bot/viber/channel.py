"""The Viber channel: callbacks on the shared HTTP server, sending through Viber's REST API.

The transport is our own (aiohttp, with timeouts, to a configurable API URL): the viberbot SDK's is
synchronous (`requests`, no timeout), has a fixed API URL and compares signatures with `==`. The
SDK still parses callbacks and builds message payloads (bot/viber/messages.py).

Like Telegram, a message callback is recorded in the database (unique on its 64-bit
message_token, kept as text, never as a float) before Viber gets its 200, and handled from there.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import OrderedDict
from typing import Any

import aiohttp
from aiohttp import web
from viberbot.api.viber_requests import ViberMessageRequest, create_request

from core.events import ChatRef, Inbound, Resumed, Started, Text
from core.service import Outcome
from bot.bootstrap import App
from bot.dialogs.chart import chart_png
from bot.dialogs.render import render_all, render_text, split_text
from bot.channel_records import mark_handled, set_reachable
from bot.inbox_worker import Deliveries, InboxWorker, Recorded
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.recorder import InboxRecorder
from bot.viber.messages import CHANNEL, MAX_TEXT, chat_of, event_of, picture_message, text_message

log = logging.getLogger(__name__)

STATUS_OK = 0
STATUS_NOT_SUBSCRIBED = 6
STATUS_TOO_MANY_REQUESTS = 12
MAX_RETRIES = 5
WEBHOOK_EVENTS = ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"]
IGNORED_EVENTS = {"webhook", "delivered", "seen", "failed", "client_status", "action"}
MEDIA_KEPT = 500


class Unreachable(Exception):
    """Viber says the resident is not subscribed (status 6)."""


class ViberError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Viber status {status}: {message}")
        self.status = status


class ViberChannel:
    name = CHANNEL

    def __init__(self, app: App, metrics: Metrics) -> None:
        settings = app.settings
        assert settings.viber_token is not None and settings.public_url is not None
        self._app = app
        self._metrics = metrics
        self._token = settings.viber_token.get_secret_value()
        self._api = settings.viber_api_url.rstrip("/")
        self._public = settings.public_url.rstrip("/")
        self._sender = {"name": settings.viber_name[:28]} | ({"avatar": settings.viber_avatar} if settings.viber_avatar
                                                             else {})
        self._http: aiohttp.ClientSession | None = None
        self._media: OrderedDict[str, bytes] = OrderedDict()
        self.recorder = InboxRecorder(CHANNEL, app.uow_factory, app.clock)
        self.worker = InboxWorker(CHANNEL, app.uow_factory, self._handle_batch)
        self.deliveries = Deliveries()
        self.outbox = Outbox(CHANNEL, app.uow_factory)
        self.backoff_s = 1.0  # the first pause after "too many requests"; doubles on each repeat
        self.paused_until = 0.0

    # wiring

    def mount(self, web_app: web.Application) -> None:
        web_app.router.add_post("/viber/webhook", self.webhook)
        web_app.router.add_get("/viber/media/{name}", self._media_file)

    def open_client(self) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15, connect=5))

    async def start(self) -> None:
        """After the HTTP server listens: unsent replies, the inbox, then set_webhook (Viber checks it)."""
        self.open_client()
        self.outbox.start()
        await self.outbox.resend(self.deliver)
        self.worker.start()
        result = await self._post("set_webhook", {"url": f"{self._public}/viber/webhook",
                                                  "event_types": WEBHOOK_EVENTS, "send_name": True,
                                                  "send_photo": False})
        if result.get("status") != STATUS_OK:
            log.error("viber: set_webhook failed with status %s (%s)", result.get("status"),
                      result.get("status_message"))
        else:
            log.info("viber: webhook set")

    async def stop(self) -> None:
        await self.worker.stop()
        await self.deliveries.wait()
        await self.outbox.stop()
        await self.close_client()

    async def close_client(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    # inbound

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        given = request.headers.get("X-Viber-Content-Signature", "").encode()
        expected = hmac.new(self._token.encode(), body, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(given, expected):
            self._metrics.updates.labels(CHANNEL, "refused").inc()
            return web.Response(status=403, text="bad signature")
        try:
            data = json.loads(body)
            event = data["event"] if isinstance(data, dict) else None
            if not isinstance(event, str):
                raise ValueError("no event")
        except (ValueError, KeyError):
            return self._malformed()
        if event == "message":
            return await self._on_message(data, body)
        if event == "conversation_started":
            return await self._on_conversation_started(data)
        if event in ("subscribed", "unsubscribed"):
            user = data.get("user") if event == "subscribed" else {"id": data.get("user_id")}
            if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
                return self._malformed()
            await set_reachable(self._app, chat_of(user["id"]), event == "subscribed")
            self._metrics.updates.labels(CHANNEL, event).inc()
            return web.Response(status=200)
        self._metrics.updates.labels(CHANNEL, "ignored").inc()
        return web.Response(status=200)  # webhook check, delivered, seen, failed, and what Viber adds later

    def _malformed(self) -> web.Response:
        self._metrics.updates.labels(CHANNEL, "malformed").inc()
        return web.Response(status=400, text="not a Viber callback")

    async def _on_message(self, data: dict[str, Any], body: bytes) -> web.Response:
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
        if await self.recorder.record(str(token), body.decode("utf-8")):
            self.worker.notify(Recorded(str(token), "", request))
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

    async def _handle_batch(self, batch: list[Recorded]) -> None:
        started = time.perf_counter()
        items: list[tuple[Inbound, str]] = []
        dropped: list[str] = []
        for item in batch:
            request = item.parsed
            if not isinstance(request, ViberMessageRequest):
                try:
                    request = create_request(json.loads(item.payload))
                except Exception:
                    log.warning("viber callback %s: stored payload is not a message; dropped", item.event_id)
                    dropped.append(item.event_id)
                    continue
            items.append((event_of(request), item.event_id))
        if dropped:
            await mark_handled(self._app, CHANNEL, dropped)
        if not items:
            return
        outcomes = await self._app.service.handle_batch(items)
        for (event, event_id), outcome in zip(items, outcomes):
            if isinstance(outcome, Exception):
                log.error("viber callback %s failed while handling: %s", event_id, outcome.__class__.__name__)
                self._metrics.errors.labels(CHANNEL, "handling").inc()
                self._metrics.updates.labels(CHANNEL, "error").inc()
                await mark_handled(self._app, CHANNEL, [event_id])
                notice = render_text(Text("error_try_again"), "uk")
                self.deliveries.spawn(event.chat, lambda c=event.chat, n=notice: self._send_notice(c, n))
                continue
            self._metrics.updates.labels(CHANNEL, "duplicate" if outcome.duplicate else "handled").inc()
            self.deliveries.spawn(event.chat, lambda o=outcome: self._send_outcome(o, started))

    async def _send_outcome(self, outcome: Outcome, started: float) -> None:
        await self.deliver(outcome)
        self.outbox.sent(outcome.outbox_id)
        self._metrics.latency.labels(CHANNEL).observe(time.perf_counter() - started)

    # outbound

    async def deliver(self, outcome: Outcome) -> bool:
        """Send the replies in order; False when Viber says the resident is not subscribed."""
        try:
            for rendered in render_all(outcome.replies, outcome.language, MAX_TEXT):
                if rendered.chart is not None:
                    url = self._publish(chart_png(rendered.chart))
                    await self.send(outcome.chat, picture_message(url, rendered.chart.title))
                parts = split_text(rendered.text, MAX_TEXT)
                for i, part in enumerate(parts):
                    await self.send(outcome.chat, text_message(rendered, part, i == len(parts) - 1))
        except Unreachable:
            await set_reachable(self._app, outcome.chat, False)
            return False
        except (ViberError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
            self._metrics.errors.labels(CHANNEL, "sending").inc()
            log.warning("viber: sending to a resident failed (%s)", exc)
        return True

    async def send(self, chat: ChatRef, message: dict[str, Any]) -> dict[str, Any]:
        """One send_message: backs off and retries on status 12, raises Unreachable on status 6."""
        pause = self.backoff_s
        for attempt in range(MAX_RETRIES):
            waiting = self.paused_until - time.monotonic()
            if waiting > 0:
                await asyncio.sleep(waiting)
            result = await self._post("send_message", {"receiver": chat.chat_id, "sender": self._sender, **message})
            status = result.get("status")
            if status == STATUS_OK:
                self._metrics.replies.labels(CHANNEL).inc()
                return result
            if status == STATUS_NOT_SUBSCRIBED:
                self._metrics.errors.labels(CHANNEL, "not_subscribed").inc()
                raise Unreachable()
            if status == STATUS_TOO_MANY_REQUESTS and attempt < MAX_RETRIES - 1:
                self._metrics.errors.labels(CHANNEL, "too_many_requests").inc()
                log.warning("viber: too many requests, pausing sends for %.1f s", pause)
                self.paused_until = max(self.paused_until, time.monotonic() + pause)
                pause *= 2
                continue
            self._metrics.errors.labels(CHANNEL, f"status_{status}").inc()
            raise ViberError(int(status) if isinstance(status, int) else -1, str(result.get("status_message")))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_notice(self, chat: ChatRef, text: str) -> None:
        try:
            await self.send(chat, {"type": "text", "text": text, "min_api_version": 1})
        except Unreachable:
            await set_reachable(self._app, chat, False)
        except Exception as exc:
            log.warning("viber: sending an error notice failed (%s)", exc.__class__.__name__)

    async def _post(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        assert self._http is not None
        async with self._http.post(f"{self._api}/{method}", json=payload,
                                   headers={"X-Viber-Auth-Token": self._token}) as response:
            if response.status != 200:
                raise ViberError(-response.status, f"HTTP {response.status}")
            answer = await response.json(content_type=None)
            return answer if isinstance(answer, dict) else {}


    # pictures: Viber fetches them by URL, from this server, under names nobody can guess

    def _publish(self, png: bytes) -> str:
        name = f"{secrets.token_urlsafe(24)}.png"
        self._media[name] = png
        while len(self._media) > MEDIA_KEPT:
            self._media.popitem(last=False)
        return f"{self._public}/viber/media/{name}"

    async def _media_file(self, request: web.Request) -> web.Response:
        png = self._media.get(request.match_info["name"])
        if png is None:
            return web.Response(status=404)
        return web.Response(body=png, content_type="image/png")
