"""The seam between the core and the channels: inbound events and outbound replies.

Channels turn platform updates into these events and render the replies; they decide nothing.
Replies carry text keys with parameters, never sentences: the texts live in one place per language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_PAYLOAD_BYTES = 64  # Telegram's callback_data limit; Viber allows more, we use the smaller


@dataclass(frozen=True)
class ChatRef:
    """A resident's chat on one channel; ``chat_id`` is the platform's id as text."""

    channel: str
    chat_id: str


@dataclass(frozen=True)
class Started:
    chat: ChatRef


@dataclass(frozen=True)
class Resumed:
    """The channel (re)connected, as the console does at launch: show where the resident is."""

    chat: ChatRef


@dataclass(frozen=True)
class TextReceived:
    chat: ChatRef
    text: str


@dataclass(frozen=True)
class ButtonPressed:
    chat: ChatRef
    payload: str


@dataclass(frozen=True)
class CancelRequested:
    chat: ChatRef


@dataclass(frozen=True)
class PhotoReceived:
    """A picture the resident sent; ``ref`` is the platform's handle for it (a file id or URL)."""

    chat: ChatRef
    ref: str


@dataclass(frozen=True)
class UnsupportedReceived:
    """Content the bot does not read (a sticker, a voice message, a location, ...)."""

    chat: ChatRef
    kind: str


Inbound = Started | Resumed | TextReceived | ButtonPressed | CancelRequested | PhotoReceived | UnsupportedReceived


@dataclass(frozen=True)
class Text:
    """A text by key; parameters may themselves be Texts, rendered in the same language."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.key, tuple(sorted(self.params))))


def t(key: str, **params: Any) -> Text:
    return Text(key, params)


@dataclass(frozen=True)
class Button:
    label: Text
    payload: str

    def __post_init__(self) -> None:
        if len(self.payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"button payload over {MAX_PAYLOAD_BYTES} bytes: {self.payload!r}")


@dataclass(frozen=True)
class Chart:
    """A picture to draw: one line of values per series, over the same periods."""

    title: Text
    periods: tuple[str, ...]
    series: tuple[tuple[str, tuple[float | None, ...]], ...]
    unit: str


@dataclass(frozen=True)
class Reply:
    text: Text
    buttons: tuple[tuple[Button, ...], ...] = ()  # rows of buttons
    chart: Chart | None = None
