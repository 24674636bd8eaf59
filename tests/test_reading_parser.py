"""The reading parser: what residents type, strictly read."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from core.reading_parser import ParseError, ParseProblem, parse_amount, parse_reading


def parse(text: str, digits: int = 6, decimals: int = 3) -> Decimal | ParseProblem:
    result = parse_reading(text, digits=digits, decimals=decimals)
    return result.problem if isinstance(result, ParseError) else result


@pytest.mark.parametrize("typed, value", [
    ("1234", "1234"), ("1 234", "1234"), ("1234,5", "1234.5"), ("1234.5", "1234.5"), ("1234,5 м3", "1234.5"),
    ("001234", "1234"), ("1\u00a0234,5", "1234.5"), ("1\u2009234", "1234"), ("1\u202f234.125", "1234.125"),
    ("  42  ", "42"), ("1234.5 м³", "1234.5"), ("1234 m3", "1234"), ("1234,5м3", "1234.5"),
    ("18250,4 кВт·год", "18250.4"),
    ("12 345 кВт", "12345"), ("0", "0"), ("5,125 Гкал", "5.125"), ("12 345,5", "12345.5"),
])
def test_accepts_what_residents_type(typed, value):
    assert parse(typed) == Decimal(value)


@pytest.mark.parametrize("typed, problem", [
    ("", ParseProblem.EMPTY), ("   ", ParseProblem.EMPTY),
    ("-5", ParseProblem.NEGATIVE), ("−5", ParseProblem.NEGATIVE), ("- 12,5", ParseProblem.NEGATIVE),
    ("abc", ParseProblem.NOT_A_NUMBER), ("12a", ParseProblem.NOT_A_NUMBER), ("nan", ParseProblem.NOT_A_NUMBER),
    ("NaN", ParseProblem.NOT_A_NUMBER), ("inf", ParseProblem.NOT_A_NUMBER), ("Infinity", ParseProblem.NOT_A_NUMBER),
    ("1e5", ParseProblem.NOT_A_NUMBER), ("1E5", ParseProblem.NOT_A_NUMBER), ("1_000", ParseProblem.NOT_A_NUMBER),
    ("１２３４", ParseProblem.NOT_A_NUMBER), ("١٢٣٤", ParseProblem.NOT_A_NUMBER), ("+5", ParseProblem.NOT_A_NUMBER),
    ("1,2,3", ParseProblem.NOT_A_NUMBER), ("1.2.3", ParseProblem.NOT_A_NUMBER), ("12 34", ParseProblem.NOT_A_NUMBER),
    ("1234,", ParseProblem.NOT_A_NUMBER), (",5", ParseProblem.NOT_A_NUMBER), ("0x10", ParseProblem.NOT_A_NUMBER),
    ("1234,5678", ParseProblem.TOO_MANY_DECIMALS), ("1234567", ParseProblem.TOO_MANY_DIGITS),
])
def test_refuses_what_python_would_let_through(typed, problem):
    assert parse(typed) == problem


def test_leading_zeros_do_not_count_against_the_dial():
    assert parse("000123456", digits=6) == Decimal("123456")
    assert parse("1234567", digits=6) == ParseProblem.TOO_MANY_DIGITS


def test_a_meter_without_decimals_takes_whole_numbers_only():
    assert parse("1234,5", decimals=0) == ParseProblem.TOO_MANY_DECIMALS
    assert parse("1234", decimals=0) == Decimal(1234)


values = st.decimals(min_value=0, max_value=Decimal("999999.999"), places=3, allow_nan=False, allow_infinity=False)
separators = st.sampled_from([" ", "\u00a0", "\u2009", "\u202f"])


@given(values, st.sampled_from([",", "."]), st.sampled_from(["", " м3", "м³", " m3"]))
def test_any_value_written_plainly_reads_back_exactly(value, point, unit):
    text = f"{value:f}".replace(".", point) + unit
    assert parse(text) == value


@given(st.integers(min_value=1000, max_value=999_999), separators)
def test_thousands_groups_with_any_space_read_back(number, space):
    grouped = f"{number:,}".replace(",", space)
    assert parse(grouped) == Decimal(number)


@given(st.text(max_size=20))
def test_never_crashes_and_never_returns_a_non_finite_or_negative_value(text):
    result = parse(text)
    if isinstance(result, Decimal):
        assert result.is_finite() and result >= 0
        assert all(c in "0123456789" for c in f"{result:f}".replace(".", ""))


OTHER_DIGITS = st.characters(categories=["Nd"]).filter(lambda c: c not in "0123456789")


@given(st.text(alphabet=OTHER_DIGITS, min_size=1, max_size=6))
def test_digits_of_other_scripts_are_refused(text):
    assert parse(text) == ParseProblem.NOT_A_NUMBER


@pytest.mark.parametrize("typed, amount", [
    ("1234.56", "1234.56"), ("1 234,56", "1234.56"), ("1234,56 грн", "1234.56"), ("500", "500"), ("99,9", "99.9"),
])
def test_payment_amounts(typed, amount):
    assert parse_amount(typed) == Decimal(amount)


@pytest.mark.parametrize("typed", ["", "abc", "1.234", "-5", "1e3", "nan"])
def test_bad_payment_amounts(typed):
    assert parse_amount(typed) is None


@pytest.mark.parametrize("typed, unit, result", [
    ("1525 кВт", "Гкал", ParseProblem.WRONG_UNIT), ("18400,5 Гкал", "кВт·год", ParseProblem.WRONG_UNIT),
    ("12 м3", "кВт·год", ParseProblem.WRONG_UNIT), ("12 kWh", "м³", ParseProblem.WRONG_UNIT),
    ("1525,125 Гкал", "Гкал", Decimal("1525.125")), ("1525 gcal", "Гкал", Decimal("1525")),
    ("18400 kWh", "кВт·год", Decimal("18400")), ("18400 квт год", "кВт·год", Decimal("18400")),
    ("18400 кВт", "кВт·год", Decimal("18400")), ("12,5 куб", "м³", Decimal("12.5")), ("12 m3", "м³", Decimal("12")),
    ("12", "Гкал", Decimal("12")),
])
def test_a_unit_typed_with_the_value_must_be_the_meters(typed, unit, result):
    parsed = parse_reading(typed, digits=6, decimals=3, unit=unit)
    assert (parsed.problem if isinstance(parsed, ParseError) else parsed) == result
