from __future__ import annotations

from decimal import Decimal as D

from core.domain import ReadingKind
from core.reading_checks import Verdict, check_reading
from core.supplier_config import load_suppliers

HOT_WATER = next(s for s in load_suppliers()["heat"].services if s.id == "hot_water")


def test_an_ordinary_value_passes_with_its_consumption():
    result = check_reading(D("105"), D("100"), HOT_WATER, [D("4"), D("5")])
    assert (result.verdict, result.consumption) == (Verdict.OK, D("5"))


def test_lower_than_previous_is_refused_and_rollover_offered_only_near_the_maximum():
    assert check_reading(D("10"), D("100"), HOT_WATER, []) .verdict is Verdict.LOWER
    assert not check_reading(D("10"), D("100"), HOT_WATER, []).rollover_possible
    assert check_reading(D("10"), D("99990"), HOT_WATER, []).rollover_possible


def test_a_rollover_counts_consumption_past_zero():
    result = check_reading(D("10"), D("99995"), HOT_WATER, [], ReadingKind.ROLLOVER)
    assert (result.verdict, result.consumption) == (Verdict.OK, D("15"))


def test_over_three_times_the_average_is_unusual_but_three_times_is_not():
    recent = [D("4"), D("6")]
    assert check_reading(D("115"), D("100"), HOT_WATER, recent).verdict is Verdict.OK
    assert check_reading(D("115.001"), D("100"), HOT_WATER, recent).verdict is Verdict.UNUSUAL


def test_without_history_only_the_physical_limit_applies():
    assert check_reading(D("150"), D("100"), HOT_WATER, [D("1")]).verdict is Verdict.OK
    assert check_reading(D("161"), D("100"), HOT_WATER, []).verdict is Verdict.UNUSUAL
