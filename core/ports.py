"""What the core needs from storage, as protocols; storage/ implements them, tests fake them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from core.domain import Account, Reading, ReadingKind, ReadingStatus
from core.events import ChatRef
from core.payments import Balance, BillingEntry
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
    new_serial: str | None = None
    new_installed: date | None = None
    new_start: Decimal | None = None


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
class Receipt:
    """A stored submission as its receipt shows it: the account, when, and each reading's status now."""

    reference: str
    account: Account  # with its meters, to name them
    resident_id: int | None  # who handed it in; None once they asked to be forgotten
    period: Period
    submitted_at: datetime  # UTC, as storage gives it back
    readings: tuple[Reading, ...]  # in the order they were handed in


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

    async def contact(self, resident_id: int) -> tuple[ChatRef, str] | None:
        """Where and in which language to tell another resident something (None: forgotten)."""


class PictureStore(Protocol):
    """Pictures the bot sends by URL (Viber fetches each from the bot's server): every process of the bot must
    serve every one (storage/pictures.py keeps them in the database)."""

    async def put(self, name: str, png: bytes, receiver: ChatRef) -> None:
        """Keep a picture under an unguessable name; the receiver's forget-me deletes it."""

    async def get(self, name: str) -> bytes | None:
        """The picture's bytes; None for a name not kept (or no longer)."""


class PhotoStore(Protocol):
    """Where the bytes of residents' meter photos are kept (bot/photos/store.py keeps them in a folder).

    A name is unguessable and stable: the export gives it, the operator fetches the photo by it."""

    async def save(self, data: bytes) -> str:
        """Keep a photo (a JPEG); its new name. Written whole or not at all."""

    async def load(self, name: str) -> bytes | None:
        """The photo's bytes; None for a name that is not kept (or not a name at all)."""

    async def delete(self, name: str) -> bool:
        """Remove a photo; False when it was not there."""

    def names(self) -> AsyncIterator[tuple[str, datetime]]:
        """Every kept photo with when it was written (UTC): for removing photos no record knows."""

    async def remove_partials(self, before: datetime) -> int:
        """Writes that a crash cut short, begun before ``before``, removed; how many."""


class Photos(Protocol):
    """The records of kept photos: whose they are and which reading they support (the reading's evidence)."""

    async def add(self, name: str, resident_id: int, at: datetime) -> None: ...

    async def known(self, names: list[str]) -> set[str]:
        """Of these names, those with a record (a photo not yet removed)."""

    async def forget(self, resident_id: int) -> list[str]:
        """A resident asked to be forgotten: their photos that no handed-in reading needs (a draft's, a reading
        kept for a later window) lose their records and are cleared from such readings; the names, to remove
        the files once committed. The rest stay with their readings, no longer the resident's."""

    async def expired(self, readings_before: datetime, loose_before: datetime, limit: int) -> list[str]:
        """Photos of readings handed in before ``readings_before`` (the retention), and photos that no reading
        refers to, received before ``loose_before`` (a draft's, abandoned)."""

    async def remove(self, names: list[str]) -> None:
        """The records gone, and the readings they supported cleared of them (the files are the caller's)."""


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
    async def previous(self, meter_id: int, before: Period) -> Reading | None:
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

    async def submissions(self, resident_id: int | None, account_ids: list[int], limit: int) -> list[Receipt]:
        """The last ``limit`` submissions the resident handed in or of these accounts, newest first."""

    async def by_reference(self, reference: str) -> Receipt | None:
        """The submission with this reference (as issued: "KM-2611-7F3K9Q"), whoever handed it in."""


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


class Payments(Protocol):
    """What suppliers' billing files said about accounts — payments, charges, balances — kept by supplier and
    account number, so that rows for an account the register does not hold yet are not lost."""

    async def add(self, entries: list[BillingEntry], at: datetime) -> int:
        """Keep, in bulk, the entries whose natural key (BillingEntry.key) is not kept yet; how many were new."""

    async def unregistered(self, accounts: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Those of these (supplier, number) pairs that the account register does not hold."""

    async def latest_balance(self, supplier: str, number: str) -> Balance | None:
        """The balance of the latest date given; of two for one date, the one imported last."""

    async def entries(self, supplier: str, number: str, since: date) -> list[BillingEntry]:
        """Payments and charges dated ``since`` or later, newest first (within a day, the last imported first)."""


@dataclass(frozen=True)
class Claim:
    """Who holds a queued row, and until when (wall-clock UTC, never the business clock).

    A live process renews its claims; a dead one's lapse, and another process takes the rows over.
    """

    owner: str
    until: datetime


@dataclass(frozen=True)
class FailedRow:
    """An inbox event or outbox row set aside: kept for the operator, never dropped."""

    id: str
    channel: str
    created_at: datetime
    failed_at: datetime
    attempts: int
    error: str


class Inbox(Protocol):
    """Inbound events per channel, recorded before the platform is answered, handled once."""

    async def record_many(self, channel: str, events: list[tuple[str, str]], at: datetime,
                          claim: Claim | None = None, chats: Mapping[str, str] | None = None) -> set[str]:
        """Keep several events (id, payload) in one go, claimed when given; returns the ids that were new.

        ``chats`` names, by event id, whose event it is: a chat's later events wait for its earlier ones."""

    async def waiting(self, channel: str, chats: list[str]) -> list[tuple[str, str]]:
        """(chat, event id) of these chats' events neither handled nor set aside, oldest recorded first."""

    async def prefetch(self, channel: str, event_ids: list[str]) -> None:
        """Load several events' records in one go, for a batch of steps."""

    async def mark_handled(self, channel: str, event_id: str, at: datetime) -> bool:
        """True the first time an event is handled (recorded or not), False for a repeat."""

    async def claim(self, channel: str, claim: Claim, now: datetime, limit: int) -> list[tuple[str, str]]:
        """Take unhandled events nobody holds (or whose holder's claim lapsed), oldest first."""

    async def set_aside(self, channel: str, event_id: str, error: str, attempts: int, at: datetime) -> None:
        """An event that cannot be handled: kept, listed, and no longer holds anything up."""

    async def failed(self, limit: int) -> list[FailedRow]: ...

    async def renew(self, claim: Claim, event_ids: list[str]) -> None:
        """Extend the claims of ``claim.owner`` on these events to ``claim.until``."""

    async def release(self, owner: str) -> None:
        """Give up every claim of ``owner`` (a clean stop)."""

    async def release_all(self) -> None:
        """Give up every claim: SQLite serves from one process, so at start they were a dead one's."""


@dataclass(frozen=True)
class PendingReplies:
    id: int
    chat: ChatRef
    language: str
    body: str  # core.events.encode_replies
    progress: int = 0  # platform messages of this row already sent
    attempts: int = 0
    since: datetime | None = None  # its age counts from here: created, or retried by the operator


class Outbox(Protocol):
    """Replies stored in the step's own transaction; claimed before sending, deleted once settled."""

    async def add(self, chat: ChatRef, language: str, body: str, at: datetime, claim: Claim | None = None) -> int:
        """Keep replies (claimed at once when given); the id is known at once and grows with time."""

    async def done(self, ids: list[int]) -> None:
        """Settled (sent, unreachable): gone."""

    async def claim(self, channel: str, claim: Claim, now: datetime, limit: int) -> list[PendingReplies]:
        """Take rows nobody holds (or whose holder's claim lapsed), oldest first."""

    async def record_attempt(self, row_id: int, progress: int, error: str) -> None:
        """A send that will be tried again: how far it got, and why it stopped."""

    async def set_aside(self, row_id: int, error: str, at: datetime, progress: int | None = None) -> None:
        """Move a row aside (rejected, undecodable, too old): kept, listed, resendable from ``progress``."""

    async def failed(self, limit: int) -> list[FailedRow]: ...

    async def retry(self, ids: list[int] | None, at: datetime) -> int:
        """Set-aside rows (these, or all) back in the queue; how many."""

    async def renew(self, claim: Claim, ids: list[int]) -> None: ...

    async def release(self, owner: str) -> None: ...

    async def release_all(self) -> None: ...

    async def pending(self, channel: str, limit: int) -> list[PendingReplies]:
        """Rows waiting to be sent, oldest first (the console reads its own)."""


@dataclass(frozen=True)
class MissingMeter:
    serial: str
    service: str
    zone: str


@dataclass
class DueAccount:
    account_id: int
    number: str
    address: str = ""
    apartment: str = ""
    meters: list[MissingMeter] = field(default_factory=list)


@dataclass
class DueResident:
    resident_id: int
    chat: ChatRef
    language: str
    accounts: list[DueAccount] = field(default_factory=list)


@dataclass(frozen=True)
class RunState:
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class VerificationDue:
    resident_id: int
    chat: ChatRef
    language: str
    supplier: str
    number: str
    meter_id: int
    serial: str
    service: str
    zone: str
    due: date


class ReminderCampaigns(Protocol):
    """Campaign runs and their deliveries: one row per resident and campaign, claimed just before sending."""

    async def run_state(self, supplier: str, period: Period, campaign: str) -> RunState | None: ...

    async def start_run(self, supplier: str, period: Period, campaign: str, at: datetime) -> None: ...

    async def finish_run(self, supplier: str, period: Period, campaign: str, at: datetime) -> None: ...

    async def settle_in_flight(self, supplier: str, period: Period, campaign: str) -> int:
        """Claimed but unconfirmed when a run stopped: maybe sent, never resent (``lost``). How many."""

    async def due_residents(self, supplier: str, period: Period, campaign: str, today: date, after: int, limit: int,
                            channels: list[str]) -> list[DueResident]:
        """The next page (by resident id) of residents due: not reminded yet, or left to retry."""

    async def count_due(self, supplier: str, period: Period, campaign: str, today: date,
                        channels: list[str]) -> int: ...

    async def claim(self, supplier: str, period: Period | str, campaign: str, resident_id: int, at: datetime) -> bool:
        """The rate limiter granted a slot: record the reminder as being sent; False if it is taken."""

    async def mark(self, supplier: str, period: Period | str, campaign: str, resident_ids: list[int],
                   state: str) -> None:
        """sent, unreachable, rejected — or retry, which makes the resident due again."""

    async def retries_left(self, supplier: str, period: Period, campaign: str) -> int: ...

    async def verifications_due(self, today: date, until: date, channels: list[str]) -> list[VerificationDue]: ...

    async def settle_warnings_in_flight(self) -> int:
        """Verification warnings claimed but unconfirmed when a run stopped: ``lost``. How many."""


class UnitOfWork(Protocol):
    """One transaction: the write lock is taken when it begins, so read-modify-write is safe."""

    # read-only to the core (properties, so that an implementation's own repository types conform)
    @property
    def inbox(self) -> Inbox: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def residents(self) -> Residents: ...

    @property
    def accounts(self) -> Accounts: ...

    @property
    def link_attempts(self) -> LinkAttempts: ...

    @property
    def readings(self) -> Readings: ...

    @property
    def kept(self) -> KeptReadings: ...

    @property
    def reminders(self) -> ReminderPreferences: ...

    @property
    def campaigns(self) -> ReminderCampaigns: ...

    @property
    def payments(self) -> Payments: ...

    @property
    def photos(self) -> Photos: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(self, *exc: object) -> None:
        """Rolls back whatever was not committed."""

    async def commit(self) -> None: ...
