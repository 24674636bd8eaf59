"""The Viber channel: an adapter on the delivery pipeline (bot/delivery), sending through Viber's REST API.

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
import ipaddress
import json
import logging
import secrets
import socket
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from viberbot.api.viber_requests import ViberMessageRequest, create_request
from yarl import URL

from core.events import ChatRef, PhotoProblem, Resumed, Started
from core.service import Outcome
from bot.bootstrap import App
from bot.delivery.adapter import Parsed, PhotoRefused, Recorded
from bot.delivery.results import SENT, Rejected, RetryLater, SendResult, Unreachable
from bot.dialogs.chart_drawer import PendingPicture
from bot.dialogs.payment_qr import qr_drawn
from bot.dialogs.render import render_all, split_text
from bot.metrics import Metrics
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
MEDIA_KEPT = 500
MAX_PAUSE_S = 60.0
PHOTO_REDIRECTS = 3  # hops a resident's media URL may take, each checked like the first
PHOTO_CHUNK = 64 * 1024
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
NOT_PUBLIC = "not a public address"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class ViberSetWebhookFailed(Exception):
    pass


class NotPublicAddress(OSError):
    """A media host whose every address is this machine's or a private network's."""


def is_public(address: str) -> bool:
    """Whether an IP address is on the public internet: not loopback, private, link-local, multicast,
    reserved or unspecified; nor is an IPv4 address carried inside an IPv6 one (mapped, 6to4, NAT64, ...)."""
    return all(ip.is_global and not ip.is_multicast for ip in _reached(ipaddress.ip_address(address)))


def _reached(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    if isinstance(ip, ipaddress.IPv4Address):
        return [ip]
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    inner: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip, *(ip.teredo or ())]
    if ip.sixtofour is not None:
        inner.append(ip.sixtofour)
    if ip in _NAT64 or int(ip) >> 32 == 0:  # NAT64's well-known prefix; the old IPv4-compatible form
        inner.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    return inner


def looks_like_address(host: str) -> bool:
    """aiohttp's own test (helpers.is_ip_address): a host like this is connected to as given, never resolved."""
    return ":" in host or host.replace(".", "").isdigit()


def may_fetch_from(address: str, loopback: bool) -> bool:
    """``loopback``: this machine too (a fake Viber beside the bot), never the networks around it."""
    try:
        return is_public(address) or (loopback and ipaddress.ip_address(address).is_loopback)
    except ValueError:  # not an address Python reads (2130706433, 127.1): nothing to trust
        return False


class PublicResolver(AbstractResolver):
    """Host names resolve to public addresses only. The check is on the addresses the connection then uses,
    so a name that points at this machine, or is switched to it after a first lookup, leads nowhere."""

    def __init__(self, loopback: bool = False) -> None:
        self._resolver = DefaultResolver()
        self._loopback = loopback

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        found = [r for r in await self._resolver.resolve(host, port, family)
                 if may_fetch_from(r["host"], self._loopback)]
        if not found:
            raise NotPublicAddress(NOT_PUBLIC)
        return found

    async def close(self) -> None:
        await self._resolver.close()


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
        self._photo_http: aiohttp.ClientSession | None = None  # residents' pictures, from wherever Viber keeps them
        self._media_local = settings.viber_media_local  # this machine's addresses too: a fake Viber beside the bot
        self._media: OrderedDict[str, bytes] = OrderedDict()
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
        if self._photo_http is not None:
            await self._photo_http.close()
            self._photo_http = None

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
        """The URL is the sender's to choose, so it is fetched like any untrusted one: http(s) only, public
        addresses only (and loopback with ``viber_media_local``), a few redirects, each checked like the first,
        an image, counted as it arrives. Logs carry the reason only, never the URL."""
        try:
            async with asyncio.timeout(timeout_s):
                return await self._fetch_media(URL(ref), max_bytes)
        except PhotoRefused as exc:
            log.info("viber: photo refused (%s)", exc)
            raise
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            not_public = isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, NotPublicAddress)
            reason = NOT_PUBLIC if not_public else exc.__class__.__name__
            log.info("viber: photo not fetched (%s)", reason)
            raise PhotoRefused(PhotoProblem.UNAVAILABLE, reason) from None

    async def _fetch_media(self, url: URL, max_bytes: int) -> bytes:
        http = self._photo_client()
        for _ in range(PHOTO_REDIRECTS + 1):
            self._check_media_url(url)
            async with http.get(url, allow_redirects=False, headers={"Accept-Encoding": "identity"}) as response:
                location = response.headers.get("Location")
                if response.status in REDIRECT_STATUSES and location:
                    url = response.url.join(URL(location))
                    continue
                return await _picture_of(response, max_bytes)
        raise PhotoRefused(PhotoProblem.UNAVAILABLE, "too many redirects")

    def _check_media_url(self, url: URL) -> None:
        """What the resolver cannot see: the scheme, and a host given as an address (never resolved)."""
        if url.scheme not in ("http", "https") or not url.host:
            raise PhotoRefused(PhotoProblem.UNAVAILABLE, "not an http(s) URL")
        if looks_like_address(url.host) and not may_fetch_from(url.host, self._media_local):
            raise PhotoRefused(PhotoProblem.UNAVAILABLE, NOT_PUBLIC)

    def _photo_client(self) -> aiohttp.ClientSession:
        if self._photo_http is None:
            # the fetch's own timeout covers the whole of it; no cookies carried from one resident's URL to another's
            self._photo_http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
                                                         resolver=PublicResolver(self._media_local)),
                                                     timeout=aiohttp.ClientTimeout(total=None),
                                                     cookie_jar=aiohttp.DummyCookieJar())
        return self._photo_http

    # outbound

    def render(self, outcome: Outcome) -> list[object]:
        messages: list[object] = []
        for rendered in render_all(outcome.replies, outcome.language, MAX_TEXT):
            if rendered.chart is not None:
                messages.append(PendingPicture(partial(self._charts.draw, rendered.chart),
                                               partial(self._picture, outcome.chat.chat_id, rendered.chart.title)))
            if rendered.qr is not None:
                messages.append(PendingPicture(partial(qr_drawn, rendered.qr.link),
                                               partial(self._picture, outcome.chat.chat_id, rendered.qr.caption)))
            parts = split_text(rendered.text, MAX_TEXT)
            for i, part in enumerate(parts):
                messages.append((outcome.chat.chat_id, text_message(rendered, part, i == len(parts) - 1)))
        return messages

    async def send(self, message: object) -> SendResult:
        if isinstance(message, PendingPicture) and (message := await message.drawn()) is None:
            return SENT  # not drawn (logged): the text goes out without the picture (a QR's link is in it)
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

    def _picture(self, receiver: str, caption: str, png: bytes) -> tuple[str, dict[str, Any]]:
        return receiver, picture_message(self._publish(png), caption)

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


async def _picture_of(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The body of a final answer, when it is a picture within the limit; never more than ``max_bytes`` held."""
    if response.status != 200:
        raise PhotoRefused(PhotoProblem.UNAVAILABLE, f"HTTP {response.status}")
    if not response.content_type.startswith("image/"):
        raise PhotoRefused(PhotoProblem.NOT_IMAGE, "not an image content type")
    if response.content_length is not None and response.content_length > max_bytes:
        raise PhotoRefused(PhotoProblem.TOO_LARGE, "declared length")
    data = bytearray()
    async for chunk in response.content.iter_chunked(PHOTO_CHUNK):
        if len(data) + len(chunk) > max_bytes:
            raise PhotoRefused(PhotoProblem.TOO_LARGE, "more bytes than the limit")
        data += chunk
    return bytes(data)
