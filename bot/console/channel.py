"""Chatting on the terminal as a local resident.

Buttons are shown as a numbered list; typing the number or the label presses it. Reads stdin to its
end, so a conversation can be piped in.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import TextIO

from core.events import ButtonPressed, ChatRef, Inbound, Resumed, TextReceived
from core.service import ConversationService
from bot.dialogs.chart import chart_png
from bot.dialogs.render import Rendered, RenderedButton, render

CHANNEL = "console"


class ConsoleChannel:
    def __init__(self, service: ConversationService, out: TextIO, chat_id: str = "local") -> None:
        self._service = service
        self._out = out
        self._chat = ChatRef(CHANNEL, chat_id)
        self._buttons: list[RenderedButton] = []
        self._charts = Path(tempfile.gettempdir()) / "komunalka-charts"

    async def run(self, stdin: TextIO) -> None:
        await self.send(Resumed(self._chat))
        while True:
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                return
            text = line.strip()
            if text:
                self._out.write(f"> {text}\n")
                await self.send(self._event_for(text))

    def _event_for(self, text: str) -> Inbound:
        if text.isdigit() and 1 <= int(text) <= len(self._buttons):
            return ButtonPressed(self._chat, self._buttons[int(text) - 1].payload)
        for button in self._buttons:
            if button.label.casefold() == text.casefold():
                return ButtonPressed(self._chat, button.payload)
        return TextReceived(self._chat, text)

    async def send(self, event: Inbound) -> None:
        outcome = await self._service.handle(event)
        self._buttons = []
        for reply in outcome.replies:
            self._show(render(reply, outcome.language))
        self._out.flush()

    def _show(self, rendered: Rendered) -> None:
        self._out.write(rendered.text + "\n")
        if rendered.chart is not None:
            self._charts.mkdir(exist_ok=True)
            path = self._charts / f"history-{self._chat.chat_id}.png"
            path.write_bytes(chart_png(rendered.chart))
            self._out.write(f"[chart: {path}]\n")
        for row in rendered.buttons:
            for button in row:
                self._buttons.append(button)
                self._out.write(f"  {len(self._buttons)}) {button.label}\n")
        self._out.write("\n")
