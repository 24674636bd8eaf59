"""Talking to the conversation as a resident would, through the seam."""

from __future__ import annotations

from core.events import (
    Button,
    ButtonPressed,
    ChatRef,
    Inbound,
    PhotoProblem,
    PhotoReceived,
    Reply,
    Started,
    TextReceived,
    UnsupportedReceived,
)
from core.meter_photo import Seen
from core.service import ConversationService, Outcome
from bot.dialogs.render import render


class Talk:
    def __init__(self, service: ConversationService, channel: str = "console", chat_id: str = "1") -> None:
        self.service = service
        self.chat = ChatRef(channel, chat_id)
        self.last: tuple[Reply, ...] = ()
        self.language = "uk"

    async def event(self, event: Inbound, inbound_id: str | None = None) -> tuple[Reply, ...]:
        outcome: Outcome = await self.service.handle(event, inbound_id=inbound_id)
        for reply in outcome.replies:  # a missing text or parameter fails here, in both languages
            render(reply, "uk")
            render(reply, "en")
        self.last = outcome.replies
        self.language = outcome.language
        return outcome.replies

    async def start(self) -> tuple[Reply, ...]:
        return await self.event(Started(self.chat))

    async def say(self, text: str) -> tuple[Reply, ...]:
        return await self.event(TextReceived(self.chat, text))

    async def photo(self, name: str | None, *, problem: PhotoProblem | None = None,
                    seen: tuple[Seen, ...] | None = None) -> tuple[Reply, ...]:
        """A photo as the pipeline hands it to the step: kept under ``name``, or with its ``problem``."""
        return await self.event(PhotoReceived(self.chat, "platform-ref", problem=problem, photo=name, seen=seen))

    async def sticker(self) -> tuple[Reply, ...]:
        return await self.event(UnsupportedReceived(self.chat, "sticker"))

    def button(self, label_key: str, **params: object) -> Button:
        for reply in reversed(self.last):
            for row in reply.buttons:
                for b in row:
                    if b.label.key == label_key and all(b.label.params.get(k) == v for k, v in params.items()):
                        return b
        raise AssertionError(f"no button {label_key} {params} in {self.keys} / {self.button_keys}")

    async def press(self, label_key: str, **params: object) -> tuple[Reply, ...]:
        return await self.event(ButtonPressed(self.chat, self.button(label_key, **params).payload))

    async def press_payload(self, payload: str) -> tuple[Reply, ...]:
        return await self.event(ButtonPressed(self.chat, payload))

    @property
    def keys(self) -> list[str]:
        return [r.text.key for r in self.last]

    @property
    def button_keys(self) -> list[str]:
        return [b.label.key for r in self.last for row in r.buttons for b in row]

    def text(self, language: str | None = None) -> str:
        return "\n".join(render(r, language or self.language).text for r in self.last)

    def reply(self, key: str) -> Reply:
        return next(r for r in self.last if r.text.key == key)
