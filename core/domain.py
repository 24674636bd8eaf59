"""The things Komunalka knows about: suppliers, services, accounts, meters and readings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from core.periods import Period


class Channel(StrEnum):
    TELEGRAM = "telegram"
    VIBER = "viber"
    CONSOLE = "console"


class ReadingKind(StrEnum):
    """How a value came about; the supplier's export does not need it, the history does."""

    TYPED = "typed"
    UNCHANGED = "unchanged"
    ROLLOVER = "rollover"
    REPLACED = "replaced"


class ReadingStatus(StrEnum):
    ACCEPTED = "accepted"
    PENDING = "pending"  # kept outside the window, to be handed in when it opens
    REPLACED = "replaced"  # superseded by a later reading of the same meter and period
    EXPIRED = "expired"  # kept, but its window closed before it was handed in: never counts as submitted


@dataclass(frozen=True)
class ServiceSpec:
    """A service a supplier bills, with what its meters look like."""

    id: str
    unit: str
    digits: int  # whole-number digits on the meter's dial
    decimals: int  # digits after the decimal point that the meter shows
    max_monthly: Decimal  # consumption in one month beyond which a value is physically implausible
    zones: tuple[str, ...] = ()

    @property
    def maximum(self) -> Decimal:
        """The first value the dial cannot show; it rolls over to zero there."""
        return Decimal(10) ** self.digits


@dataclass(frozen=True)
class WindowRule:
    """When a supplier accepts readings, in the city's time zone.

    ``opens_day``/``closes_day`` are days of the month (negative counts from the end, -1 is the last
    day); ``closes_next_month`` makes the window cross a month's end; ``period_offset`` names the
    billing period relative to the month the window opens in.
    """

    opens_day: int
    closes_day: int
    closes_next_month: bool = False
    period_offset: int = 0
    source: str = ""


@dataclass(frozen=True)
class Tariff:
    """A price per unit of a service's consumption (UAH, VAT included), in force from ``valid_from`` to
    ``valid_to`` inclusive (open-ended without one).

    ``zone`` is "" for a one-zone meter, else the meter's zone ("day", "night"); ``part`` is "" for the
    whole price, else a named part billed beside others (cold water: water supply and sewage).
    """

    service: str
    price: Decimal
    valid_from: date
    valid_to: date | None = None
    zone: str = ""
    part: str = ""
    names: dict[str, str] = field(default_factory=dict)  # language -> the part's name
    source: str = ""

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class Fee:
    """A fixed monthly amount per account (the water subscription fee), in force between its dates."""

    id: str
    amount: Decimal  # UAH a month, VAT included
    valid_from: date
    valid_to: date | None = None
    names: dict[str, str] = field(default_factory=dict)  # language -> name
    source: str = ""

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class PaymentDetails:
    """Where a resident pays a supplier from their own bank app; checked when the supplier file loads.

    ``page_url`` is the supplier's payment page, a template with ``{account}`` and ``{amount}``;
    ``discount_by_day``/``discount_percent``: paying by that day of the month saves that much.
    """

    recipient: str  # as the bank shows it, at most 70 characters
    iban: str  # "UA" and 27 digits, checksum verified
    edrpou: str  # the recipient's 8-digit EDRPOU code, checksum verified
    page_url: str | None = None
    discount_by_day: int | None = None
    discount_percent: Decimal | None = None
    source: str = ""


@dataclass(frozen=True)
class SupplierSpec:
    id: str
    names: dict[str, str]  # language -> name
    services: tuple[ServiceSpec, ...]
    window: WindowRule
    account_pattern: str
    account_example: str
    contacts: dict[str, str] = field(default_factory=dict)  # language -> contacts text
    source: str = ""
    tariffs: tuple[Tariff, ...] = ()
    fees: tuple[Fee, ...] = ()
    payment: PaymentDetails | None = None

    def service(self, service_id: str) -> ServiceSpec | None:
        return next((s for s in self.services if s.id == service_id), None)

    def account_number_ok(self, number: str) -> bool:
        return re.fullmatch(self.account_pattern, number) is not None


@dataclass(frozen=True)
class Meter:
    id: int
    account_id: int
    serial: str
    service: str
    zone: str  # "" for a single-zone meter
    last_reading: Decimal | None
    last_reading_date: date | None
    verification_due: date | None = None

    def lapsed(self, today: date) -> bool:
        """Its verification ran out before ``today``: the supplier takes no readings from it."""
        return self.verification_due is not None and self.verification_due < today


@dataclass(frozen=True)
class Account:
    id: int
    supplier: str
    number: str
    address: str
    apartment: str
    last_payment: Decimal | None
    meters: tuple[Meter, ...] = ()


@dataclass(frozen=True)
class Reading:
    meter_id: int
    period: Period
    value: Decimal
    previous_value: Decimal | None
    consumption: Decimal | None
    kind: ReadingKind
    status: ReadingStatus
    submitted_at: datetime
    channel: str
    reference: str
    accepted_at: datetime | None = None  # when it was accepted (later than submitted_at for a kept one)
    submitted_by: int | None = None  # the resident; None once they asked to be forgotten
    # a replaced meter: the new one's serial, installation date and reading when installed, where known
    new_serial: str | None = None
    new_installed: date | None = None
    new_start: Decimal | None = None


def normalize_account_number(text: str) -> str:
    """Residents type account numbers with spaces and dashes; suppliers store them without."""
    return re.sub(r"[\s\-\u00a0\u2009\u202f]", "", text).upper()


def mask_account(number: str) -> str:
    """An account number as shown in lists and reminders: only its last four characters."""
    return "•••" + number[-4:] if len(number) > 4 else number
