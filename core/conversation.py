"""The conversation engine: one visible table of steps, driven by inbound events.

A step declares what it shows on entry, which button actions it accepts, and what it does with
typed text or a photo. Handlers read and change the resident's JSON session and storage through
the unit of work; they return nothing but the replies they add to the turn.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from core.domain import SupplierSpec
from core.events import (
    Button,
    ButtonPressed,
    CancelRequested,
    Chart,
    Inbound,
    PaymentQr,
    PhotoReceived,
    Reply,
    Resumed,
    Started,
    Text,
    TextReceived,
    UnsupportedReceived,
)
from core.ports import Resident, UnitOfWork

SEQ_MODULO = 10_000
_PAYLOAD = re.compile(r"^(?:(\d{1,4})\.)?([a-z_]{1,20})(?::([A-Za-z0-9_\-]{1,36}))?$")


@dataclass
class Turn:
    """Everything one step of one resident may look at and change."""

    resident: Resident
    uow: UnitOfWork
    now: datetime  # aware, in the city's time zone
    suppliers: Mapping[str, SupplierSpec]
    channel: str
    replies: list[Reply] = field(default_factory=list)
    notice: Text | None = None  # a short word on the pressed button, for channels that can show one
    table: Mapping[str, Step] = field(default_factory=dict)
    told: list[tuple[int, Reply]] = field(default_factory=list)  # messages for other residents, by id
    discard: list[str] = field(default_factory=list)  # kept photos no longer wanted: removed once committed

    @property
    def session(self) -> dict[str, Any]:
        return self.resident.session

    @property
    def step(self) -> str:
        return str(self.session.get("step", ""))

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.session.setdefault("data", {})
        return data

    def local(self, moment: datetime) -> datetime:
        """A stored moment (UTC) in the city's time zone, as residents read clocks."""
        return moment.astimezone(self.now.tzinfo)

    def say(self, key: str, *, buttons: tuple[tuple[Button, ...], ...] = (), chart: Chart | None = None,
            qr: PaymentQr | None = None, **params: Any) -> None:
        """Add a reply; every moment in it is shown in the city's time zone, whatever zone storage gave."""
        self.replies.append(Reply(Text(key, {k: self._shown(v) for k, v in params.items()}), buttons, chart, qr))

    def tell(self, resident_id: int, key: str, **params: Any) -> None:
        """A message for another resident (a household member), sent through the outbox with this step."""
        self.told.append((resident_id, Reply(Text(key, {k: self._shown(v) for k, v in params.items()}))))

    def _shown(self, value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return self.local(value)
        if isinstance(value, Text):
            return Text(value.key, {k: self._shown(v) for k, v in value.params.items()})
        if isinstance(value, list):
            return [self._shown(v) for v in value]
        return value

    def button(self, label: str, action: str, arg: str | int | None = None, **params: Any) -> Button:
        """A button valid only on the current screen: its payload carries the screen's number."""
        payload = f"{self.session.get('seq', 0)}.{action}" + ("" if arg is None else f":{arg}")
        return Button(Text(label, params), payload)

    async def goto(self, step: str, **data: Any) -> None:
        """Move to a step: a new screen, so buttons of earlier screens become stale."""
        self.session["step"] = step
        self.session["seq"] = (int(self.session.get("seq", 0)) + 1) % SEQ_MODULO
        if data:
            self.data.update(data)
        await self.table[step].enter(self)

    async def refresh(self, pictures: bool = True) -> None:
        """Show the current step again, keeping its buttons valid; without its pictures (a chart, a payment QR
        code) where the resident only needs reminding where they are: the pictures are still just above."""
        shown = len(self.replies)
        await self.table[self.step].enter(self)
        if not pictures:
            self.replies[shown:] = [replace(r, chart=None, qr=None) for r in self.replies[shown:]]


Handler = Callable[[Turn, str], Awaitable[None]]
PhotoHandler = Callable[[Turn, PhotoReceived], Awaitable[None]]


@dataclass(frozen=True)
class Step:
    enter: Callable[[Turn], Awaitable[None]]
    buttons: Mapping[str, Handler] = field(default_factory=dict)
    text: Handler | None = None
    photo: PhotoHandler | None = None  # the photo is kept, or its problem known, before the step runs
    numbers: bool = True  # a bare number typed here is the step's input (False: text is a receipt reference)
    resumable: bool = True  # "continue" under a later message shows it again (False: a question to ask afresh)


def global_button(label: str, action: str, arg: str | None = None, **params: Any) -> Button:
    """A button that works from any step at any time (menu, help, language)."""
    return Button(Text(label, params), action if arg is None else f"{action}:{arg}")


@dataclass(frozen=True)
class Conversation:
    """The step table plus what works from everywhere.

    ``commands`` maps typed commands ("/menu", "меню") to handlers; ``global_buttons`` maps actions
    of buttons without a screen number; ``start`` runs on /start and for a resident seen first.
    """

    steps: Mapping[str, Step]
    commands: Mapping[str, Handler]
    global_buttons: Mapping[str, Handler]
    start: Handler
    cancel: Handler
    home: Handler  # the main menu, where a start ends
    stale: Handler
    unsupported: Handler
    photo_elsewhere: Handler  # a photo on a step that takes none

    async def handle(self, turn: Turn, event: Inbound) -> None:
        turn.table = self.steps
        if turn.step not in self.steps:
            if isinstance(event, PhotoReceived) and event.photo:  # a first message that is a photo: not kept
                turn.discard.append(event.photo)
            if turn.resident.is_new or not (isinstance(event, ButtonPressed) and self._is_global(event.payload)):
                await self.start(turn, "")  # a first message is a start: the greeting and the notice
                command = self.commands.get(_command_of(event.text)) if isinstance(event, TextReceived) else None
                if command is not None and command not in (self.start, self.cancel, self.home):
                    await command(turn, "")  # ... and then what was asked, /help or /language
                return
            # a global button (under a reminder) works without a greeting first, for a resident the bot knows;
            # one it does not (the button under "your data is deleted") is greeted and told the notice
            turn.session["step"] = "menu"
        match event:
            case Started():
                await self.start(turn, "")
            case Resumed():
                await turn.refresh()
            case CancelRequested():
                await self.cancel(turn, "")
            case TextReceived(text=text):
                await self._text(turn, text)
            case ButtonPressed(payload=payload):
                await self._button(turn, payload)
            case PhotoReceived() as photo:
                step = self.steps[turn.step]
                if step.photo is not None:
                    await step.photo(turn, photo)
                else:
                    turn.discard += [photo.photo] if photo.photo else []
                    await self.photo_elsewhere(turn, "")
            case UnsupportedReceived(kind=kind):
                await self.unsupported(turn, kind)

    def takes_text(self, step: str) -> bool:
        """Whether typed text is the step's input (a reading, a number), not a reason to point at buttons."""
        found = self.steps.get(step)
        return found is not None and found.text is not None and found.numbers

    def _is_global(self, payload: str) -> bool:
        match = _PAYLOAD.match(payload)
        return match is not None and match.group(1) is None and match.group(2) in self.global_buttons

    async def _text(self, turn: Turn, text: str) -> None:
        command = _command_of(text)
        if command in self.commands:
            await self.commands[command](turn, "")
            return
        step = self.steps[turn.step]
        if step.text is None:
            turn.say("use_buttons")
            await turn.refresh(pictures=False)
        else:
            await step.text(turn, text)

    async def _button(self, turn: Turn, payload: str) -> None:
        match = _PAYLOAD.match(payload)
        if not match:
            await self.stale(turn, "")
            return
        seq, action, arg = match.group(1), match.group(2), match.group(3) or ""
        if seq is None and action in self.global_buttons:
            await self.global_buttons[action](turn, arg)
            return
        step = self.steps[turn.step]
        if seq is None or int(seq) != turn.session.get("seq", 0) or action not in step.buttons:
            await self.stale(turn, "")
            return
        await step.buttons[action](turn, arg)


def _command_of(text: str) -> str:
    """"/start@komunalka_bot payload" -> "/start"; "Меню" -> "меню"."""
    words = text.strip().split()
    if len(words) != 1 and not (words and words[0].startswith("/")):
        return ""
    return words[0].split("@", 1)[0].casefold() if words else ""
