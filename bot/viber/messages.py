"""Viber callbacks as the core's events, and the core's replies as Viber messages.

The viberbot SDK parses callbacks and builds message payloads here; its transport is not used (see
bot/viber/channel.py).
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from viberbot.api.messages import FileMessage, PictureMessage, TextMessage
from viberbot.api.viber_requests import ViberMessageRequest

from core.events import (
    ButtonPressed,
    ChatRef,
    Inbound,
    PhotoProblem,
    PhotoReceived,
    TextReceived,
    UnsupportedReceived,
)
from bot.dialogs.render import Rendered, RenderedButton

CHANNEL = "viber"
MIN_API_VERSION = 7  # keyboards with Silent buttons
BUTTON_PREFIX = "kb:"  # marks a keyboard tap: typed text never starts like this by accident
MAX_TEXT = 7000
MAX_CAPTION = 120
COLUMNS = 6
# a file by these names is fetched as the meter's photo (Pillow then decides; a HEIC is refused as not a picture
# it can open); fixed here rather than guessed from the machine's MIME table, which may not know .webp
PICTURE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic",
                    ".heif"}


def chat_of(user_id: str) -> ChatRef:
    return ChatRef(CHANNEL, user_id)


def event_of(request: ViberMessageRequest) -> Inbound:
    chat = chat_of(request.sender.id)
    message = request.message
    if isinstance(message, TextMessage):
        text = message.text or ""
        if text.startswith(BUTTON_PREFIX):
            return ButtonPressed(chat, text[len(BUTTON_PREFIX):])
        return TextReceived(chat, text)
    if isinstance(message, PictureMessage) and message.media:
        return PhotoReceived(chat, message.media)
    if isinstance(message, FileMessage) and message.media:
        # a file is meant as the picture too (a photo sent uncompressed): one whose name is not an image's is
        # answered as such, unfetched, as Telegram's documents are; the fetch checks the rest
        name = message.file_name if isinstance(message.file_name, str) else ""
        picture = PurePosixPath(name.strip()).suffix.casefold() in PICTURE_SUFFIXES
        return PhotoReceived(chat, message.media, problem=None if picture else PhotoProblem.NOT_IMAGE)
    return UnsupportedReceived(chat, type(message).__name__)


def keyboard(rows: tuple[tuple[RenderedButton, ...], ...]) -> dict[str, Any] | None:
    if not rows:
        return None
    buttons = []
    for row in rows:
        width = max(1, COLUMNS // len(row))
        for button in row:
            buttons.append({
                "Columns": width, "Rows": 1, "ActionType": "reply", "ActionBody": BUTTON_PREFIX + button.payload,
                "Text": button.label[:250], "TextSize": "regular", "BgColor": "#f2f4f7", "Silent": True,
            })
    return {"Type": "keyboard", "DefaultHeight": False, "Buttons": buttons}


def text_message(rendered: Rendered, text: str, with_keyboard: bool) -> dict[str, Any]:
    board = keyboard(rendered.buttons) if with_keyboard else None
    return dict(TextMessage(text=text, keyboard=board, min_api_version=MIN_API_VERSION).to_dict())


def picture_message(url: str, caption: str) -> dict[str, Any]:
    payload = PictureMessage(media=url, text=caption[:MAX_CAPTION], min_api_version=MIN_API_VERSION).to_dict()
    return {k: v for k, v in payload.items() if v is not None}
