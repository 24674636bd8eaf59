"""Submission windows in the city's calendar, including windows that cross a month's end."""

from __future__ import annotations

from datetime import date

import pytest

from core.domain import WindowRule
from core.periods import Period
from core.submission_window import current_window, next_window, window_for_submission, window_of_period
from core.supplier_config import load_suppliers

RULES = {sid: spec.window for sid, spec in load_suppliers().items()}


@pytest.mark.parametrize("supplier, day, is_open, period", [
    ("heat", date(2026, 11, 4), False, "2026-11"),
    ("heat", date(2026, 11, 5), True, "2026-11"),
    ("heat", date(2026, 11, 30), True, "2026-11"),
    ("heat", date(2026, 12, 1), False, "2026-12"),
    ("water", date(2026, 11, 9), False, "2026-11"),
    ("water", date(2026, 11, 10), True, "2026-11"),
    ("water", date(2027, 2, 28), True, "2027-02"),
    ("electricity", date(2026, 11, 28), False, "2026-11"),
    ("electricity", date(2026, 11, 29), True, "2026-11"),  # second-to-last day of November
    ("electricity", date(2026, 12, 3), True, "2026-11"),
    ("electricity", date(2026, 12, 4), False, "2026-12"),
    ("electricity", date(2027, 2, 27), True, "2027-02"),  # February: 27th is second-to-last
    ("electricity", date(2028, 2, 28), True, "2028-02"),  # leap year
    ("electricity", date(2028, 2, 27), False, "2028-02"),
    ("gas", date(2026, 11, 27), False, "2026-11"),
    ("gas", date(2026, 11, 28), True, "2026-11"),
    ("gas", date(2027, 1, 5), True, "2026-12"),  # crosses the year's end
    ("gas", date(2027, 1, 6), False, "2027-01"),
])
def test_open_and_closed_days_and_their_periods(supplier, day, is_open, period):
    window, opened = window_for_submission(RULES[supplier], day)
    assert (opened, str(window.period)) == (is_open, period)


def test_closed_window_says_when_the_next_one_opens():
    assert next_window(RULES["water"], date(2026, 12, 3)).opens == date(2026, 12, 10)
    assert next_window(RULES["electricity"], date(2026, 12, 4)).opens == date(2026, 12, 30)
    assert current_window(RULES["water"], date(2026, 12, 3)) is None


def test_the_older_heat_rule_last_week_up_to_the_first_is_expressible():
    rule = WindowRule(opens_day=-7, closes_day=1, closes_next_month=True)
    assert current_window(rule, date(2026, 11, 23)) is None
    window = current_window(rule, date(2026, 12, 1))
    assert window is not None and window.opens == date(2026, 11, 24) and window.period == Period(2026, 11)
    assert current_window(rule, date(2026, 12, 2)) is None


def test_a_period_offset_names_the_next_month():
    rule = WindowRule(opens_day=25, closes_day=5, closes_next_month=True, period_offset=1)
    window = current_window(rule, date(2026, 12, 26))
    assert window is not None and window.period == Period(2027, 1)


@pytest.mark.parametrize("rule", [*RULES.values(), WindowRule(-7, 1, closes_next_month=True),
                                  WindowRule(25, 5, closes_next_month=True, period_offset=1),
                                  WindowRule(1, 10, period_offset=-1)], ids=str)
@pytest.mark.parametrize("day", [date(2026, 11, 1), date(2026, 11, 20), date(2026, 11, 29), date(2026, 12, 31),
                                 date(2027, 1, 4), date(2028, 2, 28)])
def test_the_window_of_a_period_is_the_one_that_takes_its_readings(rule, day):
    window, _ = window_for_submission(rule, day)
    assert window_of_period(rule, window.period) == window
