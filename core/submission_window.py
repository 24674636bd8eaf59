"""Submission windows: when a supplier accepts readings, and for which billing period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from core.domain import WindowRule
from core.periods import Period


@dataclass(frozen=True)
class Window:
    opens: date  # first day readings are accepted (local date)
    closes: date  # last day readings are accepted (local date)
    period: Period  # the billing period readings in this window belong to

    def contains(self, day: date) -> bool:
        return self.opens <= day <= self.closes


def window_opening_in(rule: WindowRule, month: Period) -> Window:
    """The window that opens in the given calendar month."""
    closing_month = month.shifted(1) if rule.closes_next_month else month
    return Window(
        opens=month.day(rule.opens_day),
        closes=closing_month.day(rule.closes_day),
        period=month.shifted(rule.period_offset),
    )


def window_of_period(rule: WindowRule, period: Period) -> Window:
    """The window in which readings of the billing period ``period`` are accepted."""
    return window_opening_in(rule, period.shifted(-rule.period_offset))


def current_window(rule: WindowRule, today: date) -> Window | None:
    """The window open on ``today`` (a local date), or None while intake is closed."""
    here = Period.of(today)
    for offset in (0, -1):
        window = window_opening_in(rule, here.shifted(offset))
        if window.contains(today):
            return window
    return None


def next_window(rule: WindowRule, today: date) -> Window:
    """The first window that opens after ``today``."""
    here = Period.of(today)
    for offset in (0, 1, 2):
        window = window_opening_in(rule, here.shifted(offset))
        if window.opens > today:
            return window
    raise AssertionError("a window opens every month")  # pragma: no cover


def window_for_submission(rule: WindowRule, today: date) -> tuple[Window, bool]:
    """The window a reading typed today goes to, and whether it is open now.

    Outside a window, readings are kept for the next one.
    """
    window = current_window(rule, today)
    if window is not None:
        return window, True
    return next_window(rule, today), False
