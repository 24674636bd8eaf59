"""A fake Telegram Bot API server on 127.0.0.1, speaking the real wire format.

aiogram sends form-encoded bodies, or multipart when a file goes along, with JSON inside fields
(reply_markup, allowed_updates, commands); both are parsed here. Answers are the Bot API's own
shapes: {"ok": true, "result": ...} or {"ok": false, "error_code": ..., "description": ...}.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fake_files import send_slowly

BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Komunalka", "username": "komunalka_bot"}
JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "entities", "caption_entities", "link_preview_options",
               "reply_parameters", "scope"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int = 0


@dataclass
class StoredFile:
    """A file residents sent: getFile tells ``declared_size`` (Telegram's word), the download gives ``data``."""

    file_id: str
    data: bytes
    declared_size: int | None
    path: str


class FakeTelegram:
    def __init__(self, token: str = "123456:TEST-token", *, global_rate: float | None = None,
                 per_chat_rate: float | None = None) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []  # for getUpdates
        self.blocked: set[int] = set()
        self.retry_after: dict[str, deque[int]] = defaultdict(deque)  # method -> retry_after answers to give
        # method -> failures to give, in turn: "502" (Bot API JSON), "html" (a proxy's page), "drop" (the
        # connection closes without an answer), "400", "403", "too_big" (getFile's for a file over 20 MB)
        self.failures: dict[str, deque[str]] = defaultdict(deque)
        self.global_rate = global_rate  # messages a second in all; over it: 429
        self.per_chat_rate = per_chat_rate
        self.too_many = 0
        self.hold: dict[str, asyncio.Event] = {}  # method -> answered only once the event is set
        self.delay = 0.0  # seconds before answering each sendMessage
        self._recent: deque[float] = deque()
        self._recent_chat: dict[int, float] = {}
        self._message_ids = itertools.count(1)
        self.messages: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)  # chat -> message_id -> message
        self.too_old: set[int] = set()  # message ids Telegram no longer lets the bot edit
        self._new_update = asyncio.Event()
        self.files: dict[str, StoredFile] = {}  # file_id -> a file getFile and /file/bot<token>/<path> give
        self.download_delay = 0.0  # seconds between a download's first bytes and the rest
        self.downloads: list[str] = []  # file paths asked for
        self.download_failures: deque[str] = deque()  # failures to give downloads, in turn: "404", "drop"
        self._stopping = asyncio.Event()  # ends a slow download's wait
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def release(self) -> None:
        """Answer every held call now, and hold nothing more."""
        for event in self.hold.values():
            event.set()
        self.hold.clear()

    async def stop(self) -> None:
        self._stopping.set()
        self.release()
        if self._runner:
            await self._runner.cleanup()

    # what tests look at

    def sent(self, chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method in ("sendMessage", "sendPhoto") and c.status == 200
                and (chat_id is None or int(c.params["chat_id"]) == chat_id)]

    def shown(self, chat_id: int | None = None) -> list[Call]:
        """New messages and texts edited in, in the order the resident saw them."""
        return [c for c in self.calls if c.method in ("sendMessage", "sendPhoto", "editMessageText")
                and c.status == 200 and (chat_id is None or int(c.params["chat_id"]) == chat_id)]

    def texts(self, chat_id: int) -> list[str]:
        return [c.params.get("text") or c.params.get("caption", "") for c in self.shown(chat_id)]

    def live_keyboards(self, chat_id: int) -> list[int]:
        """The chat's messages that still carry buttons, oldest first."""
        return [i for i, m in sorted(self.messages[chat_id].items()) if m.get("reply_markup")]

    def last_keyboard(self, chat_id: int) -> list[dict[str, str]]:
        live = self.live_keyboards(chat_id)
        return _buttons_of(self.messages[chat_id][live[-1]]) if live else []

    def button(self, chat_id: int, label: str) -> str:
        for b in self.last_keyboard(chat_id):
            if b["text"] == label:
                return b["callback_data"]
        raise AssertionError(f"no button {label!r} in {[b['text'] for b in self.last_keyboard(chat_id)]}")

    def tap(self, chat_id: int, label: str, update_id: int | None = None) -> dict[str, Any]:
        """The update Telegram sends when the resident taps the newest button so labelled."""
        for message_id in reversed(self.live_keyboards(chat_id)):
            for b in _buttons_of(self.messages[chat_id][message_id]):
                if b["text"] == label:
                    return callback_update(chat_id, b["callback_data"], update_id, message_id=message_id)
        raise AssertionError(f"no button {label!r} in {[b['text'] for b in self.last_keyboard(chat_id)]}")

    def notices(self) -> list[str]:
        """Texts shown on pressed buttons (answerCallbackQuery with a text)."""
        return [c.params["text"] for c in self.method_calls("answerCallbackQuery") if c.params.get("text")]

    def method_calls(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def push_update(self, update: dict[str, Any]) -> None:
        self.updates.append(update)
        self._new_update.set()

    def add_file(self, file_id: str, data: bytes, declared_size: int | None = None) -> str:
        """A file a resident sent, for getFile and the download; ``declared_size`` (default: the real one)
        is what getFile says. Its file_path comes back."""
        path = f"photos/file_{len(self.files)}.jpg"
        self.files[file_id] = StoredFile(file_id, data, len(data) if declared_size is None else declared_size, path)
        return path

    # the API

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _params(request)
        call = Call(method, params)
        self.calls.append(call)
        if method in self.hold:
            await self.hold[method].wait()
        if self.failures[method]:
            response = self._failure(request, self.failures[method].popleft())
        elif self.retry_after[method]:
            response = _error(429, "Too Many Requests: retry after", retry_after=self.retry_after[method].popleft())
        else:
            handler = getattr(self, f"_m_{method}", None)
            response = _ok(True) if handler is None else await handler(params)
        call.status = response.status
        return response

    def _failure(self, request: web.Request, kind: str) -> web.Response:
        if kind == "drop":
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=599)  # never reaches the client
        if kind == "html":
            return web.Response(status=502, text="<html><body><h1>502 Bad Gateway</h1></body></html>",
                                content_type="text/html")
        if kind == "400":
            return _error(400, "Bad Request: message text is empty")
        if kind == "403":
            return _error(403, "Forbidden: bot was blocked by the user")
        if kind == "too_big":
            return _error(400, "Bad Request: file is too big")
        return _error(502, "Bad Gateway")

    async def _m_getMe(self, params: dict[str, Any]) -> web.Response:
        return _ok(BOT_USER)

    async def _m_getFile(self, params: dict[str, Any]) -> web.Response:
        found = self.files.get(str(params.get("file_id")))
        if found is None:
            return _error(400, "Bad Request: invalid file_id")
        answer: dict[str, Any] = {"file_id": found.file_id, "file_unique_id": f"u-{found.file_id}",
                                  "file_path": found.path}
        if found.declared_size is not None:
            answer["file_size"] = found.declared_size
        return _ok(answer)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """The file server: the first bytes at once, the rest after ``download_delay``."""
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        path = request.match_info["path"]
        self.downloads.append(path)
        found = next((f for f in self.files.values() if f.path == path), None)
        failure = self.download_failures.popleft() if self.download_failures else None
        if found is None or failure == "404":
            return _error(404, "Not Found")
        if failure is not None:
            return self._failure(request, failure)
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = len(found.data)
        return await send_slowly(request, response, found.data, self.download_delay, self._stopping)

    async def _m_getUpdates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout=min(float(params.get("timeout") or 0), 1.0))
            except asyncio.TimeoutError:
                pass
        return _ok(self.updates[:100])

    async def _m_sendMessage(self, params: dict[str, Any]) -> web.Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        return self._send(params, {"text": params.get("text", "")})

    async def _m_sendPhoto(self, params: dict[str, Any]) -> web.Response:
        photo = [{"file_id": "photo-file-id", "file_unique_id": "u1", "width": 700, "height": 350}]
        return self._send(params, {"photo": photo, "caption": params.get("caption", "")})

    def _send(self, params: dict[str, Any], content: dict[str, Any]) -> web.Response:
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        limited = self._over_limit(chat_id)
        if limited:
            self.too_many += 1
            return _error(429, f"Too Many Requests: retry after {limited}", retry_after=limited)
        message = {"message_id": next(self._message_ids), "date": int(time.time()),
                   "chat": {"id": chat_id, "type": "private"}, "from": BOT_USER, **content}
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[chat_id][message["message_id"]] = message
        return _ok(message)

    async def _m_editMessageText(self, params: dict[str, Any]) -> web.Response:
        return self._edit(params, {"text": params.get("text", "")})

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> web.Response:
        return self._edit(params, {})

    def _edit(self, params: dict[str, Any], content: dict[str, Any]) -> web.Response:
        """Like Telegram: a markup left out takes the keyboard away; an edit that changes nothing is refused."""
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        if chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        message = self.messages[chat_id].get(message_id)
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        if message_id in self.too_old:
            return _error(400, "Bad Request: message can't be edited")
        if content and "text" not in message:
            return _error(400, "Bad Request: there is no text in the message to edit")
        edited = {**message, **content}
        edited.pop("reply_markup", None)
        if params.get("reply_markup"):
            edited["reply_markup"] = params["reply_markup"]
        if edited == message:
            return _error(400, "Bad Request: message is not modified: specified new message content and reply "
                               "markup are exactly the same as a current content and reply markup of the message")
        self.messages[chat_id][message_id] = edited
        return _ok({**edited, "edit_date": int(time.time())})

    def _over_limit(self, chat_id: int) -> int:
        now = time.monotonic()
        if self.per_chat_rate is not None:
            last = self._recent_chat.get(chat_id)
            if last is not None and now - last < 1 / self.per_chat_rate:
                return 1
        if self.global_rate is not None:
            while self._recent and now - self._recent[0] >= 1:
                self._recent.popleft()
            if len(self._recent) >= self.global_rate:
                return 1
            self._recent.append(now)
        self._recent_chat[chat_id] = now
        return 0


def _buttons_of(message: dict[str, Any]) -> list[dict[str, str]]:
    return [b for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


async def _params(request: web.Request) -> dict[str, Any]:
    content_type = request.content_type
    if content_type == "application/json":
        return dict(await request.json())
    form = await request.post()
    params: dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            data = value.file.read()
            params[key] = {"filename": value.filename, "size": len(data), "data": data}
        elif key in JSON_FIELDS or (isinstance(value, str) and value[:1] in "[{"):
            params[key] = json.loads(value)
        else:
            params[key] = value
    return params


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(code: int, description: str, **parameters: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)


# real-format updates, as Telegram sends them

_update_ids = itertools.count(10_000)


def user(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "Олена", "language_code": "uk"}


def private_chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": "Олена"}


def message_update(chat_id: int, text: str | None = None, update_id: int | None = None,
                   **content: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": next(_update_ids), "date": int(time.time()), "chat": private_chat(chat_id),
                               "from": user(chat_id), **content}
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id if update_id is not None else next(_update_ids), "message": message}


def callback_update(chat_id: int, data: str, update_id: int | None = None, message_id: int = 1) -> dict[str, Any]:
    return {"update_id": update_id if update_id is not None else next(_update_ids), "callback_query": {
        "id": str(next(_update_ids)), "from": user(chat_id), "chat_instance": "ci-1", "data": data,
        "message": {"message_id": message_id, "date": int(time.time()), "chat": private_chat(chat_id), "from": BOT_USER,
                    "text": "…"}}}


def member_update(chat_id: int, status: str) -> dict[str, Any]:
    old = "member" if status == "kicked" else "kicked"
    return {"update_id": next(_update_ids), "my_chat_member": {
        "chat": private_chat(chat_id), "from": user(chat_id), "date": int(time.time()),
        "old_chat_member": {"status": old, "user": BOT_USER, **({"until_date": 0} if old == "kicked" else {})},
        "new_chat_member": {"status": status, "user": BOT_USER, **({"until_date": 0} if status == "kicked" else {})}}}
