"""What the core needs from storage, as protocols; storage/ implements them, tests fake them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from core.domain import Account, Reading, ReadingKind, ReadingStatus
from core.events import ChatRef
from core.periods import Period


@dataclass
class Resident:
    """A resident as the conversation sees them; ``session`` is JSON-serialisable state."""

    id: int
    chat: ChatRef
    language: str = "uk"
    reachable: bool = True
    session: dict[str, Any] = field(default_factory=dict)
    is_new: bool = False


@dataclass(frozen=True)
class NewReading:
    meter_id: int
    value: Decimal
    previous_value: Decimal | None
    consumption: Decimal | None
    kind: ReadingKind
    evidence: str | None = None


@dataclass(frozen=True)
class Submission:
    account_id: int
    resident_id: int | None
    period: Period
    channel: str
    reference: str
    submitted_at: datetime
    status: ReadingStatus  # ACCEPTED, or PENDING when kept outside the window
    readings: tuple[NewReading, ...]


@dataclass(frozen=True)
class PreviousReading:
    value: Decimal
    on: date


class Residents(Protocol):
    async def prefetch(self, chats: list[ChatRef]) -> None:
        """Load (and lock, creating where new) several residents in one go, for a batch of steps."""

    async def get_or_create(self, chat: ChatRef) -> Resident:
        """The resident of this chat, created on first contact; locks the row until commit."""

    async def save(self, resident: Resident) -> None: ...

    async def forget(self, resident_id: int) -> None:
        """Delete the resident, their links, preferences and state; readings stay, unattributed."""

    async def set_reachable(self, chat: ChatRef, reachable: bool) -> None: ...


class Accounts(Protocol):
    async def find(self, supplier: str, number: str) -> Account | None: ...

    async def linked(self, resident_id: int) -> list[Account]:
        """The resident's linked accounts with their meters, in linking order."""

    async def link(self, resident_id: int, account_id: int, at: datetime) -> bool:
        """Link; False when it was linked already."""

    async def unlink(self, resident_id: int, account_id: int) -> None: ...


class LinkAttempts(Protocol):
    async def failures_since(self, supplier: str, number: str, since: datetime) -> int: ...

    async def record_failure(self, supplier: str, number: str, at: datetime) -> None: ...

    async def locked_until(self, supplier: str, number: str) -> datetime | None: ...

    async def lock(self, supplier: str, number: str, until: datetime) -> None: ...


class Readings(Protocol):
    async def previous(self, meter_id: int, before: Period) -> PreviousReading | None:
        """The last accepted reading of a period before ``before``."""

    async def recent_consumption(self, meter_id: int, before: Period, count: int) -> list[Decimal]:
        """Consumption of the last ``count`` accepted readings before ``before``, newest first."""

    async def in_period(self, meter_ids: list[int], period: Period) -> list[Reading]:
        """Accepted and pending readings of these meters for the period (not replaced or expired ones)."""

    async def submit(self, submission: Submission) -> int:
        """Store a confirmed submission; earlier accepted or pending readings of the same meters
        and period become REPLACED. Returns how many were replaced."""

    async def history(self, meter_id: int, periods: int) -> list[Reading]:
        """Accepted readings of the last ``periods`` periods, newest first."""


@dataclass(frozen=True)
class KeptSubmission:
    """A confirmed submission whose readings were kept outside the window and wait to be handed in."""

    submission_id: int
    reference: str
    account_id: int
    account_number: str
    period: Period
    chat: ChatRef | None  # None once the resident asked to be forgotten
    language: str
    readings: int  # how many of its readings are still kept


class KeptReadings(Protocol):
    """Readings kept (PENDING) until their window opens: handed in then, or expired once it has closed."""

    async def periods(self) -> list[Period]:
        """Billing periods for which readings (of any supplier) are kept, oldest first."""

    async def pending(self, supplier: str, period: Period, after: int, limit: int) -> list[KeptSubmission]:
        """The next page of submissions with kept readings of the supplier and period, by id after ``after``."""

    async def hand_in(self, submission_id: int, at: datetime) -> int:
        """The submission's kept readings become ACCEPTED as of ``at``; how many (0 when none was left)."""

    async def expire(self, submission_id: int) -> int:
        """The submission's kept readings become EXPIRED; how many (0 when none was left)."""


class ReminderPreferences(Protocol):
    async def disabled(self, resident_id: int) -> set[str]:
        """Suppliers for which the resident turned reminders off."""

    async def set_enabled(self, resident_id: int, supplier: str, enabled: bool) -> None: ...


class Inbox(Protocol):
    """Inbound event ids per channel, so that a redelivered update is handled once."""

    async def record_many(self, channel: str, events: list[tuple[str, str]], at: datetime) -> set[str]:
        """Keep several events (id, payload) in one go; returns the ids that were new."""

    async def prefetch(self, channel: str, event_ids: list[str]) -> None:
        """Load several events' records in one go, for a batch of steps."""

    async def mark_handled(self, channel: str, event_id: str, at: datetime) -> bool:
        """True the first time an event is handled (recorded or not), False for a repeat."""

    async def unhandled(self, channel: str, limit: int) -> list[tuple[str, str]]:
        """Recorded but not yet handled events, oldest first: (event id, payload)."""


@dataclass(frozen=True)
class PendingReplies:
    id: int
    chat: ChatRef
    language: str
    body: str  # core.events.encode_replies


class Outbox(Protocol):
    """Replies stored in the step's own transaction, deleted once sent: a crash resends, never loses."""

    async def add(self, chat: ChatRef, language: str, body: str, at: datetime) -> int:
        """Keep replies; the id is known at once, the row is written with the transaction."""

    async def done(self, ids: list[int]) -> None: ...

    async def pending(self, channel: str, limit: int) -> list[PendingReplies]: ...


class UnitOfWork(Protocol):
    """One transaction: the write lock is taken when it begins, so read-modify-write is safe."""

    inbox: Inbox
    outbox: Outbox
    residents: Residents
    accounts: Accounts
    link_attempts: LinkAttempts
    readings: Readings
    kept: KeptReadings
    reminders: ReminderPreferences

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(self, *exc: object) -> None:
        """Rolls back whatever was not committed."""

    async def commit(self) -> None: ...
