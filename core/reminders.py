"""Reminder campaigns: which one is due for a supplier on a given day, and quiet hours.

Per supplier and billing period there are three campaigns: when the window opens, a few days
before it closes, and on its last day. On any day only the latest campaign already due is sent, so
catching up after downtime sends one reminder, not all that were missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from core.domain import SupplierSpec
from core.events import ChatRef
from core.periods import Period
from core.ports import DueAccount, DueResident, MissingMeter
from core.submission_window import current_window


class CampaignKind(StrEnum):
    OPENS = "opens"
    CLOSING = "closing"
    LAST_DAY = "last_day"


@dataclass(frozen=True)
class Campaign:
    supplier: str
    period: Period
    kind: CampaignKind
    day: date  # the day it is due
    deadline: date  # the window's last day

    @property
    def key(self) -> str:
        return f"{self.supplier}/{self.period}/{self.kind.value}"


def campaigns_of_window(supplier: SupplierSpec, today: date, days_before: int) -> list[Campaign]:
    """The campaigns of the window open on ``today``, in date order; none while intake is closed."""
    window = current_window(supplier.window, today)
    if window is None:
        return []
    by_day: dict[date, Campaign] = {}
    closing = window.closes - timedelta(days=days_before)
    for kind, day in ((CampaignKind.OPENS, window.opens), (CampaignKind.CLOSING, closing),
                      (CampaignKind.LAST_DAY, window.closes)):
        if window.opens <= day <= window.closes:
            by_day[day] = Campaign(supplier.id, window.period, kind, day, window.closes)  # same day: the later kind
    return [by_day[d] for d in sorted(by_day)]


def due_campaign(supplier: SupplierSpec, today: date, days_before: int) -> Campaign | None:
    """The latest campaign due on ``today`` (its day has come), or None."""
    due = [c for c in campaigns_of_window(supplier, today, days_before) if c.day <= today]
    return due[-1] if due else None


@dataclass(frozen=True)
class QuietHours:
    """Nothing is sent from ``start`` to ``end`` (local time), across midnight when start > end."""

    start: time = time(21, 0)
    end: time = time(9, 0)

    def contains(self, moment: datetime) -> bool:
        now = moment.timetz().replace(tzinfo=None)
        if self.start > self.end:
            return now >= self.start or now < self.end
        return self.start <= now < self.end

    def ends_after(self, moment: datetime) -> datetime:
        """When sending may resume, for a moment inside quiet hours."""
        candidate = moment.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        return candidate if candidate > moment else candidate + timedelta(days=1)


# A meter's verification warning is a delivery of its own "campaign", under this period.
VERIFY_PERIOD = "verify"


def verification_campaign(meter_id: int, due: date) -> str:
    return f"verify-{meter_id}-{due.isoformat()}"


# resident, chat, language, account id, number, address, apartment, meter
DueRow = tuple[int, ChatRef, str, int, str, str, str, MissingMeter]


def due_page(rows: list[DueRow], limit: int) -> list[DueResident]:
    """Residents due, from a page of at most ``limit`` rows in resident, account and meter order.

    A full page that ends inside a resident's rows leaves that resident to the next page.
    """
    if len(rows) == limit and rows[0][0] != rows[-1][0]:
        last = rows[-1][0]
        rows = [r for r in rows if r[0] != last]
    residents: list[DueResident] = []
    for resident_id, chat, language, account_id, number, address, apartment, meter in rows:
        if not residents or residents[-1].resident_id != resident_id:
            residents.append(DueResident(resident_id, chat, language))
        accounts = residents[-1].accounts
        if not accounts or accounts[-1].account_id != account_id:
            accounts.append(DueAccount(account_id, number, address, apartment))
        accounts[-1].meters.append(meter)
    return residents
