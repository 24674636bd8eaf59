"""A fake Viber REST bot API on 127.0.0.1, and real-format callbacks signed as Viber signs them.

It also keeps the pictures residents send, as Viber's media server does: a picture message's ``media``
is a URL on it (``add_media``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fake_files import send_slowly

TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    status: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass
class Media:
    """A picture on the media server, and how it is given."""

    data: bytes
    content_type: str = "image/jpeg"
    chunked: bool = False  # no Content-Length: the size shows only as the bytes come
    delay: float = 0.0  # seconds between the first bytes and the rest
    redirect: str | None = None  # answered 302 to this URL instead


class FakeViber:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.statuses: dict[str, deque[int]] = defaultdict(deque)  # receiver -> statuses to answer with
        self.unsubscribed: set[str] = set()
        self.local_webhook: str | None = None  # where set_webhook's check callback really goes
        self.webhook_check_status: int | None = None
        self.failures: dict[str, deque[str]] = defaultdict(deque)  # method -> "drop", "html" or "500", in turn
        self._tokens = itertools.count(5_000_000_000_000_000_000)
        self.media: dict[str, Media] = {}  # name -> what GET /media/{name} gives
        self.media_requests: list[str] = []  # names asked for
        self._stopping = asyncio.Event()  # ends a slow download's wait
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/pa/{method}", self._handle)
        app.router.add_get("/media/{name}", self._media)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/pa"
        return self.url

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner:
            await self._runner.cleanup()

    def sent(self, receiver: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == "send_message" and c.status == 0
                and (receiver is None or c.body["receiver"] == receiver)]

    def texts(self, receiver: str) -> list[str]:
        return [c.body.get("text", "") for c in self.sent(receiver)]

    def button(self, receiver: str, label: str) -> str:
        for call in reversed(self.sent(receiver)):
            board = call.body.get("keyboard")
            if board:
                for b in board["Buttons"]:
                    if b["Text"] == label:
                        return str(b["ActionBody"])
                raise AssertionError(f"no button {label!r} in {[b['Text'] for b in board['Buttons']]}")
        raise AssertionError("no keyboard sent")

    def add_media(self, name: str, data: bytes = b"", content_type: str = "image/jpeg", *, chunked: bool = False,
                  delay: float = 0.0, redirect: str | None = None) -> str:
        """A picture a resident sent; its URL, for a picture message's ``media``."""
        self.media[name] = Media(data, content_type, chunked, delay, redirect)
        return self.media_url(name)

    def media_url(self, name: str) -> str:
        return f"{self.url.removesuffix('/pa')}/media/{name}"

    async def _media(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.media_requests.append(name)
        found = self.media.get(name)
        if found is None:
            return web.Response(status=404, text="Not Found")
        if found.redirect is not None:
            raise web.HTTPFound(found.redirect)
        response = web.StreamResponse(headers={"Content-Type": found.content_type})
        if found.chunked:
            response.enable_chunked_encoding()
        else:
            response.content_length = len(found.data)
        return await send_slowly(request, response, found.data, found.delay, self._stopping)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await request.json()
        call = Call(method, body)
        self.calls.append(call)
        if self.failures[method]:
            kind = self.failures[method].popleft()
            call.status = -1
            if kind == "drop":
                assert request.transport is not None
                request.transport.abort()
                return web.Response(status=599)
            if kind == "html":
                return web.Response(status=200, text="<html>maintenance</html>", content_type="text/html")
            return web.Response(status=500, text="Internal Server Error")
        if request.headers.get("X-Viber-Auth-Token") != self.token:
            call.status = 2
            return web.json_response({"status": 2, "status_message": "invalidAuthToken"})
        if method == "set_webhook":
            if self.local_webhook:
                check = {"event": "webhook", "timestamp": int(time.time() * 1000), "chat_hostname": "SN-376_",
                         "message_token": next(self._tokens)}
                raw = json.dumps(check).encode()
                async with aiohttp.ClientSession() as http:
                    async with http.post(self.local_webhook, data=raw,
                                         headers={"X-Viber-Content-Signature": sign(raw, self.token)}) as r:
                        self.webhook_check_status = r.status
            return web.json_response({"status": 0, "status_message": "ok", "event_types": body.get("event_types")})
        if method == "send_message":
            receiver = body.get("receiver")
            if self.statuses[receiver]:
                call.status = self.statuses[receiver].popleft()
            elif receiver in self.unsubscribed:
                call.status = 6
            if call.status == 6:
                return web.json_response({"status": 6, "status_message": "notSubscribed"})
            if call.status == 12:
                return web.json_response({"status": 12, "status_message": "tooManyRequests"})
            if call.status:
                return web.json_response({"status": call.status, "status_message": "error"})
            return web.json_response({"status": 0, "status_message": "ok", "message_token": next(self._tokens),
                                      "chat_hostname": "SN-CHAT-05_", "billing_status": 1})
        if method == "get_account_info":
            return web.json_response({"status": 0, "status_message": "ok", "id": "pa:75346594275468546724",
                                      "name": "Komunalka", "uri": "komunalka"})
        return web.json_response({"status": 0, "status_message": "ok"})


def sign(body: bytes, token: str = TOKEN) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


_tokens = itertools.count(4_912_661_846_655_238_145)


def user(user_id: str) -> dict[str, Any]:
    return {"id": user_id, "name": "Олена Петренко", "avatar": "https://avatar.example.com/a.jpg", "country": "UA",
            "language": "uk", "api_version": 10}


def message_callback(user_id: str, text: str | None = None, token: int | None = None, **message: Any) -> dict[str, Any]:
    content: dict[str, Any] = (
        {"type": "text", "text": text, "tracking_data": "трекінг"} if text is not None else message)
    return {"event": "message", "timestamp": int(time.time() * 1000), "chat_hostname": "SN-CHAT-05_",
            "message_token": token if token is not None else next(_tokens), "sender": user(user_id),
            "message": content, "silent": False}


def conversation_started(user_id: str, token: int | None = None) -> dict[str, Any]:
    return {"event": "conversation_started", "timestamp": int(time.time() * 1000), "chat_hostname": "SN-CHAT-05_",
            "message_token": token if token is not None else next(_tokens), "type": "open", "context": "",
            "user": user(user_id), "subscribed": False}


def subscribed(user_id: str) -> dict[str, Any]:
    return {"event": "subscribed", "timestamp": int(time.time() * 1000), "chat_hostname": "SN-CHAT-05_",
            "user": user(user_id), "message_token": next(_tokens)}


def unsubscribed(user_id: str) -> dict[str, Any]:
    return {"event": "unsubscribed", "timestamp": int(time.time() * 1000), "chat_hostname": "SN-CHAT-05_",
            "user_id": user_id, "message_token": next(_tokens)}


def delivery(event: str, user_id: str) -> dict[str, Any]:
    body = {"event": event, "timestamp": int(time.time() * 1000), "chat_hostname": "SN-CHAT-05_",
            "message_token": next(_tokens), "user_id": user_id}
    if event == "failed":
        body["desc"] = "failure description"
    return body
