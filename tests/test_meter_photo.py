"""The value a meter's photo may suggest, from what recognition read (hand-made, as the engine reports it)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.meter_photo import Seen, suggestion, value_from
from core.supplier_config import load_suppliers

SUPPLIERS = load_suppliers()
COLD_WATER = SUPPLIERS["water"].services[0]
ELECTRICITY = SUPPLIERS["electricity"].services[0]
DRUM_HEIGHT = 80.0


def read(text: str, left: float = 100, top: float = 200, height: float = DRUM_HEIGHT,
         confidence: float = 0.99) -> Seen:
    """A text as the engine reports it, its box as wide as drum cells (or small print, when not as tall)."""
    return Seen(text, confidence, (left, top, left + 0.8 * height * len(text), top + height))


def beside(first: Seen, text: str, **kwargs: float) -> Seen:
    """The next piece of the same line, a cell's gap to the right."""
    return read(text, left=first.box[2] + 8, top=first.box[1], **kwargs)


SERIAL = read("№ 87654321", top=330, height=24)
LABELS = [read("DN15", top=370, height=24), read("Q3 2,5 m³/h", top=400, height=24), read("m³", left=900, height=30)]


def test_the_services_are_the_shipped_water_and_electricity_meters():
    assert (COLD_WATER.digits, COLD_WATER.decimals, ELECTRICITY.digits, ELECTRICITY.decimals) == (5, 3, 6, 1)


@pytest.mark.parametrize("seen, digits, decimals, value", [
    ([read("00123456")], 5, 3, D("123.456")),
    ([read("00123,456")], 5, 3, D("123.456")),
    ([read("00123.456")], 5, 3, D("123.456")),
    ([read("0 0 1 2 3 456")], 5, 3, D("123.456")),
    ([read("00123456m³")], 5, 3, D("123.456")),
    ([read("0012345kWh")], 6, 1, D("1234.5")),
    ([read("００１２３４５６")], 5, 3, D("123.456")),  # full-width digits, as the engine sometimes writes them
    ([black := read("00123"), beside(black, "456")], 5, 3, D("123.456")),
    ([black := read("001234"), beside(black, "5")], 6, 1, D("1234.5")),
    ([read("00000000"), SERIAL, *LABELS], 5, 3, D("0")),
    ([SERIAL, read("99999999"), *LABELS], 5, 3, D("99999.999")),
])
def test_a_drum_read_whole_or_in_pieces_gives_its_value(seen, digits, decimals, value):
    assert value_from(seen, digits, decimals) == value


@pytest.mark.parametrize("seen, digits, decimals", [
    ([read("0012345")], 5, 3),  # a digit short
    ([read("00123456")], 6, 1),  # a 5+3 drum is not a 6+1 meter's
    ([read("001,23456")], 5, 3),  # the comma is not where the red cells begin
    ([black := read("00123"), beside(black, "4567")], 5, 3),  # a red digit too many
    ([read("00I23456")], 5, 3),  # a letter among the digits
    ([read("00123456", confidence=0.6)], 5, 3),
    ([read("00123"), read("456", left=700, top=400)], 5, 3),  # not on one line: two texts, not one drum
    ([], 5, 3),
])
def test_what_does_not_fit_the_meter_gives_nothing(seen, digits, decimals):
    assert value_from(seen, digits, decimals) is None


def test_a_serial_number_of_as_many_digits_is_not_taken_for_the_drum():
    serial_without_sign = read("87654321", top=330, height=24)
    assert value_from([read("00123456"), serial_without_sign, *LABELS], 5, 3) == D("123.456")
    # the drum read a digit short: the serial number is the only text that fits, but the drum is taller
    assert value_from([read("0012345"), serial_without_sign, *LABELS], 5, 3) is None
    assert value_from([read("0012345"), SERIAL, *LABELS], 5, 3) is None


def test_two_drum_sized_readings_that_differ_give_nothing():
    assert value_from([read("00123456"), read("00123458", top=320)], 5, 3) is None
    assert value_from([read("00123456"), read("00123458", top=320, height=64)], 5, 3) is None


def test_a_serial_number_alone_is_not_taken_for_the_drum_when_the_drum_was_not_read():
    assert value_from([read("87654321", top=330, height=24), *LABELS], 5, 3) is None


def test_a_digit_out_of_line_with_the_drum_as_on_a_turning_drum_gives_nothing():
    black = read("0012345")
    turning = Seen("7", 0.99, (black.box[2] + 8, black.box[1] + 40, black.box[2] + 70, black.box[3] + 10))
    assert value_from([black, turning], 5, 3) is None
    assert value_from([black, beside(black, "7")], 5, 3) == D("123.457")


@given(value=st.integers(min_value=0, max_value=10**8 - 1), split=st.booleans(),
       separator=st.sampled_from(["", ",", "."]), unit=st.sampled_from(["", "m³", " m3", "kWh"]))
def test_any_value_shown_on_a_5_3_drum_reads_back(value, split, separator, unit):
    shown = f"{value:08d}"
    if split:
        black = read(shown[:5])
        seen = [black, beside(black, shown[5:] + unit)]
    else:
        seen = [read(shown[:5] + separator + shown[5:] + unit)]
    assert value_from(seen, 5, 3) == D(value).scaleb(-3)


@pytest.mark.parametrize("previous, recent, offered", [
    (D("120"), [], D("123.456")),
    (None, [], D("123.456")),  # a first reading: nothing to compare with
    (D("123.456"), [], D("123.456")),  # nothing used this month
    (D("123.457"), [], None),  # below the previous reading
    (D("43.455"), [], None),  # 80.001 m³ in a month: beyond the service's plausible use
    (D("120"), [D("1"), D("1")], None),  # over three times the usual month
    (D("120"), [D("1.2"), D("1.2")], D("123.456")),  # three times the usual at most
])
def test_a_suggestion_is_a_plausible_next_reading(previous, recent, offered):
    assert suggestion([read("00123456"), SERIAL], COLD_WATER, previous, recent) == offered


def test_no_suggestion_when_nothing_was_read_that_fits():
    assert suggestion([read("0012345")], COLD_WATER, D("120"), []) is None
    assert suggestion([read("0012345")], ELECTRICITY, D("1200"), []) == D("1234.5")
