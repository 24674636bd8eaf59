"""Chatting on the terminal as a local resident.

Buttons are shown as a numbered list, "#1) Confirm": typing "#1" or the label presses a button. A bare
"1" presses it too, but only on a screen that asks for nothing typed: where the bot asks for a value (an
account or apartment number, a reading), a bare number is that value. Reads stdin to its end, so a
conversation can be piped in. At launch it first shows what the bot stored for this resident while the
console was closed (receipts for kept readings, notices), then where they are.

A meter photo is a file on this computer: "/photo PATH" (or "/фото PATH") sends it, as a phone would.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from core.events import (
    ButtonPressed,
    ChatRef,
    Inbound,
    PhotoProblem,
    PhotoReceived,
    Resumed,
    Text,
    TextReceived,
    decode_replies,
    t,
)
from core.ports import UnitOfWork
from core.service import ConversationService
from bot.dialogs.chart_drawer import ChartDrawer
from bot.dialogs.payment_qr import qr_png_async
from bot.delivery.adapter import PhotoRefused
from bot.dialogs.render import Rendered, RenderedButton, render, render_text
from bot.photos.intake import PhotoIntake

CHANNEL = "console"
WAITING_LIMIT = 1000  # outbox rows of the console channel looked at, for this resident's
BUTTON_PREFIX = "#"  # "#2" presses the second button on every screen; a bare "2" only where nothing is typed
PHOTO_COMMANDS = ("/photo", "/фото")


def _paths_meant(typed: str) -> list[str]:
    """The path as typed, else as a shell would read it: pasted in quotes, or with its spaces escaped, as a
    terminal pastes a file dragged onto it."""
    try:
        words = shlex.split(typed)
    except ValueError:  # an unclosed quote
        return [typed]
    return [typed, *words] if len(words) == 1 else [typed]


class ConsoleChannel:
    def __init__(self, service: ConversationService, out: TextIO, chat_id: str = "local", *,
                 uow_factory: Callable[[], UnitOfWork], charts: ChartDrawer | None = None,
                 photos: PhotoIntake | None = None) -> None:
        self._service = service
        self._uow_factory = uow_factory
        self._out = out
        self._chat = ChatRef(CHANNEL, chat_id)
        self._buttons: list[RenderedButton] = []
        self._takes_text = False  # the resident's step takes typed text: a bare number is a value there
        self._language = "uk"  # the resident's, as of the last reply
        self._charts = Path(tempfile.gettempdir()) / "komunalka-charts"
        self._drawer = charts or ChartDrawer()
        self._photos = photos

    async def run(self, stdin: TextIO) -> None:
        await self.show_waiting()
        language = await self.send(Resumed(self._chat), keep_buttons=True)  # numbered after the waiting ones
        self._out.write(render_text(t("console_buttons"), language) + "\n\n")
        while True:
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                return
            text = line.strip()
            if text:
                self._out.write(f"> {text}\n")
                event = self._event_for(text)
                if isinstance(event, Text):  # the console's own answer: the conversation does not move
                    self._out.write(render_text(event, self._language) + "\n\n")
                    self._out.flush()
                else:
                    await self.send(event)

    def _event_for(self, text: str) -> Inbound | Text:
        command, _, rest = text.partition(" ")
        if command.casefold() in PHOTO_COMMANDS:
            typed = rest.strip()
            if not typed:
                return t("console_photo_usage")
            path = next((p for p in _paths_meant(typed) if Path(p).expanduser().is_file()), None)
            if path is None:
                return t("console_photo_missing", path=typed)
            return PhotoReceived(self._chat, path)
        button = self._button_for(text)
        return ButtonPressed(self._chat, button.payload) if button else TextReceived(self._chat, text)

    def _button_for(self, text: str) -> RenderedButton | None:
        """"#2" anywhere, "2" where the step takes no typed text, or a button's label."""
        if text.startswith(BUTTON_PREFIX):
            return self._numbered(text[len(BUTTON_PREFIX):].strip())
        if text.isdecimal() and not self._takes_text:
            return self._numbered(text)
        return next((b for b in self._buttons if b.label.casefold() == text.casefold()), None)

    def _numbered(self, number: str) -> RenderedButton | None:
        if number.isdecimal() and 1 <= int(number) <= len(self._buttons):
            return self._buttons[int(number) - 1]
        return None

    async def send(self, event: Inbound, *, keep_buttons: bool = False) -> str:
        """Handle one event and show the replies; the resident's language."""
        if isinstance(event, PhotoReceived) and self._photos is not None:
            event = await self._photos.prepare(self, event)
        outcome = await self._service.handle(event)
        self._takes_text = outcome.takes_text
        self._language = outcome.language
        if not keep_buttons:
            self._buttons = []
        for reply in outcome.replies:
            await self._show(render(reply, outcome.language), outcome.language)
        self._out.flush()
        return outcome.language

    async def fetch_photo(self, ref: str, max_bytes: int, timeout_s: float) -> bytes:
        """The file at the path typed (a leading ~ is the user's home)."""
        path = Path(ref).expanduser()
        try:
            if not path.is_file():
                raise PhotoRefused(PhotoProblem.UNAVAILABLE, "no such file")
            if path.stat().st_size > max_bytes:
                raise PhotoRefused(PhotoProblem.TOO_LARGE)
            return await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise PhotoRefused(PhotoProblem.UNAVAILABLE, exc.__class__.__name__) from None

    async def show_waiting(self) -> None:
        """Show, then delete, the outbox rows of this console resident: shown twice at worst, never lost."""
        async with self._uow_factory() as uow:
            waiting = [e for e in await uow.outbox.pending(CHANNEL, WAITING_LIMIT) if e.chat == self._chat]
        if not waiting:
            return
        for entry in waiting:
            for reply in decode_replies(entry.body):
                await self._show(render(reply, entry.language), entry.language)
        self._out.flush()
        async with self._uow_factory() as uow:
            await uow.outbox.done([e.id for e in waiting])
            await uow.commit()

    async def _show(self, rendered: Rendered, language: str) -> None:
        self._out.write(rendered.text + "\n")
        if rendered.chart is not None and (png := await self._drawer.draw(rendered.chart)) is not None:
            path = self._picture_file(png, "history-")
            self._out.write(render_text(t("console_chart_saved", path=str(path)), language) + "\n")
        if rendered.qr is not None:  # the link is in the text above; the picture for a phone to scan off the screen
            path = self._picture_file(await qr_png_async(rendered.qr.link), "payment-qr-")
            self._out.write(rendered.qr.caption + "\n")
            self._out.write(render_text(t("console_qr_saved", path=str(path)), language) + "\n")
        for row in rendered.buttons:
            for button in row:
                self._buttons.append(button)
                self._out.write(f"  {BUTTON_PREFIX}{len(self._buttons)}) {button.label}\n")
        self._out.write("\n")

    def _picture_file(self, png: bytes, prefix: str) -> Path:
        """Each picture in a file of its own: an earlier one stays where the resident was told it is."""
        self._charts.mkdir(exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=prefix, suffix=".png", dir=self._charts)
        with os.fdopen(handle, "wb") as file:
            file.write(png)
        return Path(name)
