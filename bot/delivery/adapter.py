"""What a channel gives the pipeline: parse platform requests, render replies, send, map answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from core.events import ChatRef, Inbound, PhotoProblem
from core.service import Outcome
from bot.delivery.results import SendResult

if TYPE_CHECKING:
    from bot.delivery.pipeline import Pipeline


class PhotoRefused(Exception):
    """A resident's picture the channel could not fetch; ``problem`` is what the resident is told."""

    def __init__(self, problem: PhotoProblem, detail: str = "") -> None:
        super().__init__(f"{problem.value}{': ' + detail if detail else ''}")
        self.problem = problem


@dataclass(frozen=True)
class Recorded:
    event_id: str
    payload: str
    parsed: object = None  # the platform's parsed form, when it was just received in this process
    # an earlier event of the same resident was waiting elsewhere when this one was recorded (or this one was
    # taken over from another process): the batch looks again before stepping it
    check_order: bool = False


@dataclass(frozen=True)
class Parsed:
    """What a recorded platform event means to the bot."""

    event: Inbound | None = None  # a step of the conversation
    acknowledge: str | None = None  # a platform token to acknowledge first (Telegram's callback query id)
    reachable: tuple[ChatRef, bool] | None = None  # the resident (un)blocked the bot


class ChannelAdapter(Protocol):
    name: str

    def mount(self, web_app: web.Application, pipeline: Pipeline) -> None:
        """Add the platform's webhook routes; they verify, parse, and record through the pipeline."""

    def loops(self, pipeline: Pipeline) -> dict[str, Callable[[], Awaitable[None]]]:
        """The channel's own long-running work (polling, setting the webhook, the command menu)."""

    def parse(self, item: Recorded) -> Parsed:
        """A recorded event as the core's event; raises for one it cannot read."""

    def sender(self, item: Recorded) -> ChatRef | None:
        """Whose event it is, read as leniently as possible (for the notice when ``parse`` fails)."""

    def render(self, outcome: Outcome) -> list[object]:
        """Replies as platform calls, in order."""

    async def send(self, message: object) -> SendResult:
        """One platform call; every answer and every exception becomes a SendResult."""

    async def acknowledge(self, token: str, outcome: Outcome | None = None) -> None:
        """Answer the platform's token (a button press); ``outcome`` is what the event brought, if anything."""

    async def fetch_photo(self, ref: str, max_bytes: int, timeout_s: float) -> bytes:
        """The bytes of a picture a resident sent (``PhotoReceived.ref``); raises PhotoRefused when it cannot
        be had: over ``max_bytes``, not a picture, or not given within ``timeout_s``."""

    async def close(self) -> None: ...
