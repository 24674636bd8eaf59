"""Billing periods: one calendar month, written ``YYYY-MM``."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``YYYY-MM``; raises ValueError with a readable message otherwise."""
        match = _PERIOD.match(text.strip())
        if not match:
            raise ValueError(f"a billing period is written YYYY-MM, not {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Period:
        return cls(day.year, day.month)

    def shifted(self, months: int) -> Period:
        index = self.year * 12 + (self.month - 1) + months
        return Period(index // 12, index % 12 + 1)

    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    def day(self, number: int) -> date:
        """The given day of this month; a negative number counts from the end (-1 is the last day)."""
        days = self.days()
        if number < 0:
            number = days + 1 + number
        return date(self.year, self.month, max(1, min(number, days)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
