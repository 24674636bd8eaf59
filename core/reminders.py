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
from core.periods import Period
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
