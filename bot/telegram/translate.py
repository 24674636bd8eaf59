"""Telegram messages and button presses as the core's inbound events."""

from __future__ import annotations

from aiogram.types import CallbackQuery, Message

from core.events import ButtonPressed, ChatRef, Inbound, PhotoReceived, Started, TextReceived, UnsupportedReceived

CHANNEL = "telegram"


def chat_of(chat_id: int) -> ChatRef:
    return ChatRef(CHANNEL, str(chat_id))


def from_message(message: Message) -> Inbound:
    chat = chat_of(message.chat.id)
    if message.text is not None:
        command = message.text.strip().split(maxsplit=1)[0].split("@", 1)[0] if message.text.strip() else ""
        return Started(chat) if command == "/start" else TextReceived(chat, message.text)
    if message.photo:
        return PhotoReceived(chat, message.photo[-1].file_id)  # the largest size
    if message.document is not None and (message.document.mime_type or "").startswith("image/"):
        return PhotoReceived(chat, message.document.file_id)
    return UnsupportedReceived(chat, str(message.content_type))


def from_callback(callback: CallbackQuery) -> Inbound | None:
    if callback.message is None or callback.data is None:
        return None
    return ButtonPressed(chat_of(callback.message.chat.id), callback.data, str(callback.message.message_id))
