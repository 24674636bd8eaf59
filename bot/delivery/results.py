"""The four outcomes of a send; only a final one (sent, unreachable, rejected) settles it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sent:
    pass


@dataclass(frozen=True)
class Unreachable:
    """The resident blocked the bot or left: settled, and they are marked unreachable."""

    reason: str


@dataclass(frozen=True)
class RetryLater:
    """A passing failure: try again after ``delay`` seconds (None: a growing backoff).

    ``everyone`` is set when the platform asked the whole bot to slow down ("retry after").
    """

    reason: str
    delay: float | None = None
    everyone: bool = False


@dataclass(frozen=True)
class Rejected:
    """A permanent refusal (a 400, say): the row is set aside for the operator, never dropped."""

    reason: str


SendResult = Sent | Unreachable | RetryLater | Rejected
SENT = Sent()
