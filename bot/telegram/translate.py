"""Telegram messages and button presses as the core's inbound events."""

from __future__ import annotations

import mimetypes

from aiogram.types import CallbackQuery, Document, Message, PhotoSize

from core.events import (
    ButtonPressed,
    ChatRef,
    Inbound,
    PhotoProblem,
    PhotoReceived,
    Started,
    TextReceived,
    UnsupportedReceived,
)
from bot.settings import Settings

CHANNEL = "telegram"
PHOTO_MAX_BYTES: int = Settings.model_fields["photo_max_bytes"].default


def chat_of(chat_id: int) -> ChatRef:
    return ChatRef(CHANNEL, str(chat_id))


def from_message(message: Message, max_bytes: int = PHOTO_MAX_BYTES) -> Inbound:
    """``max_bytes``: a picture Telegram declares larger is refused here, before anything is fetched."""
    chat = chat_of(message.chat.id)
    if message.text is not None:
        command = message.text.strip().split(maxsplit=1)[0].split("@", 1)[0] if message.text.strip() else ""
        return Started(chat) if command == "/start" else TextReceived(chat, message.text)
    if message.photo:
        return _photo(chat, message.photo, max_bytes)
    if message.document is not None:
        return _document(chat, message.document, max_bytes)
    return UnsupportedReceived(chat, str(message.content_type))


def _photo(chat: ChatRef, sizes: list[PhotoSize], max_bytes: int) -> PhotoReceived:
    """The largest size that fits; Telegram sends the same picture scaled several ways, smallest first."""
    fitting = [s for s in sizes if s.file_size is not None and s.file_size <= max_bytes]
    if fitting:
        return PhotoReceived(chat, max(fitting, key=lambda s: s.file_size or 0).file_id)
    unknown = [s for s in sizes if s.file_size is None]
    if unknown:  # sizes not given: the fetch counts the bytes
        return PhotoReceived(chat, max(unknown, key=lambda s: s.width * s.height).file_id)
    return PhotoReceived(chat, max(sizes, key=lambda s: s.width * s.height).file_id, problem=PhotoProblem.TOO_LARGE)


def _document(chat: ChatRef, document: Document, max_bytes: int) -> PhotoReceived:
    """A file is meant as the picture too (a photo sent uncompressed, a scan): one that is not an image is
    answered as such rather than as content the bot does not read at all."""
    mime = document.mime_type or mimetypes.guess_type(document.file_name or "")[0] or ""
    if not mime.startswith("image/"):
        return PhotoReceived(chat, document.file_id, problem=PhotoProblem.NOT_IMAGE)
    if document.file_size is not None and document.file_size > max_bytes:
        return PhotoReceived(chat, document.file_id, problem=PhotoProblem.TOO_LARGE)
    return PhotoReceived(chat, document.file_id)


def from_callback(callback: CallbackQuery) -> Inbound | None:
    if callback.message is None or callback.data is None:
        return None
    return ButtonPressed(chat_of(callback.message.chat.id), callback.data, str(callback.message.message_id))
