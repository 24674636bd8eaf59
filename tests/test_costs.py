"""The estimate: which tariff a period takes, the arithmetic to the kopiyka, and what is not known.

Expected amounts are worked out by hand in each test, never by calling the code under test.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from core.costs import Gap, Usage, estimate
from core.domain import Fee, Tariff
from core.periods import Period
from core.supplier_config import load_suppliers

D = Decimal
SUPPLIERS = load_suppliers()


def gas_with(*tariffs: Tariff):
    return replace(SUPPLIERS["gas"], tariffs=tariffs, fees=())


def gas(used: str = "10") -> list[Usage]:
    return [Usage(1, "gas", "", D(used))]


def test_the_shipped_prices_are_the_kyiv_tariffs_with_their_sources():
    prices = {s.id: [(t.service, t.zone, t.part, t.price, t.valid_to) for t in s.tariffs] for s in SUPPLIERS.values()}
    assert prices == {
        "heat": [("heating", "", "", D("1654.41"), None), ("hot_water", "", "", D("97.89"), None)],
        "water": [("cold_water", "", "water_supply", D("16.164"), None),
                  ("cold_water", "", "sewage", D("14.22"), None)],
        "gas": [("gas", "", "", D("7.96"), date(2026, 4, 30))],
        "electricity": [("electricity", "", "", D("4.32"), date(2026, 4, 30)),
                        ("electricity", "day", "", D("4.32"), date(2026, 4, 30)),
                        ("electricity", "night", "", D("2.16"), date(2026, 4, 30))],
    }
    assert [(f.id, f.amount) for f in SUPPLIERS["water"].fees] == [("water_supply_subscription", D("22.31")),
                                                                     ("sewage_subscription", D("16.88"))]
    everything = [t for s in SUPPLIERS.values() for t in s.tariffs] + list(SUPPLIERS["water"].fees)
    assert all(len(item.source) > 40 for item in everything)
    assert SUPPLIERS["water"].tariffs[1].names == {"uk": "Водовідведення", "en": "Sewage"}


def test_gas_in_april_2026_ends_on_the_day_of_valid_to_and_is_priced():
    found = estimate(SUPPLIERS["gas"], Period(2026, 4), gas("12.5"))
    assert found.total == D("99.50")  # 12.5 × 7.96 = 99.50
    assert found.meters[0].amount == D("99.50")


def test_gas_the_month_after_valid_to_has_no_price_and_says_so():
    for period in (Period(2026, 5), Period(2026, 11)):
        found = estimate(SUPPLIERS["gas"], period, gas())
        assert found.total is None
        assert [(m.meter_id, m.amount, m.gap) for m in found.meters] == [(1, None, Gap.NO_PRICE)]
        assert found.left_out == found.meters


@pytest.mark.parametrize(("valid_to", "known"), [
    (date(2026, 6, 29), False),  # ends the day before the period's last day: June 30 has no price
    (date(2026, 6, 30), True),  # ends on the period's last day
    (date(2026, 7, 1), True),  # ends the day after
])
def test_a_tariff_ending_around_the_periods_last_day(valid_to, known):
    found = estimate(gas_with(Tariff("gas", D("8"), date(2026, 1, 1), valid_to)), Period(2026, 6), gas("3"))
    assert found.total == (D("24.00") if known else None)  # 3 × 8 = 24


@pytest.mark.parametrize(("valid_from", "known"), [
    (date(2026, 5, 31), True),  # began the day before the period
    (date(2026, 6, 1), True),  # begins on its first day
    (date(2026, 6, 2), False),  # begins the day after: June 1 has no price
])
def test_a_tariff_beginning_around_the_periods_first_day(valid_from, known):
    found = estimate(gas_with(Tariff("gas", D("8"), valid_from)), Period(2026, 6), gas("3"))
    assert found.total == (D("24.00") if known else None)


def test_a_tariff_changing_inside_the_period_counts_by_days():
    # June has 30 days: 10 at 10.00 and 20 at 13.00 -> (10×10 + 20×13) / 30 = 12.00 per m³; 3 m³ -> 36.00
    found = estimate(gas_with(Tariff("gas", D("10"), date(2026, 1, 1), date(2026, 6, 10)),
                              Tariff("gas", D("13"), date(2026, 6, 11))), Period(2026, 6), gas("3"))
    assert found.total == D("36.00")


def test_a_proration_that_does_not_divide_evenly_is_rounded_once_half_up():
    # July has 31 days: 1 at 7.96 and 30 at 9.00 -> 1 m³ costs (7.96 + 270) / 31 = 8.96645... -> 8.97
    found = estimate(gas_with(Tariff("gas", D("7.96"), date(2026, 1, 1), date(2026, 7, 1)),
                              Tariff("gas", D("9.00"), date(2026, 7, 2))), Period(2026, 7), gas("1"))
    assert found.total == D("8.97")


def test_two_zone_electricity_to_the_kopiyka():
    # day 123.4 kWh × 4.32 = 533.088; night 56.7 kWh × 2.16 = 122.472; together 655.560 -> 655.56
    found = estimate(SUPPLIERS["electricity"], Period(2026, 3),
                     [Usage(1, "electricity", "day", D("123.4")), Usage(2, "electricity", "night", D("56.7"))])
    assert found.total == D("655.56")
    # the lines are shares of that total: 533.08|8 takes the kopiyka left, 122.47|2 does not
    assert [m.amount for m in found.meters] == [D("533.09"), D("122.47")]


def test_a_one_zone_electricity_meter_takes_the_one_zone_price():
    found = estimate(SUPPLIERS["electricity"], Period(2026, 4), [Usage(1, "electricity", "", D("100.5"))])
    assert found.total == D("434.16")  # 100.5 × 4.32 = 434.16


def test_cold_water_adds_both_parts_and_both_monthly_fees():
    # 7.25 m³ × (16.164 + 14.22) = 7.25 × 30.384 = 220.284; fees 22.31 + 16.88 = 39.19; 259.474 -> 259.47
    found = estimate(SUPPLIERS["water"], Period(2026, 11), [Usage(1, "cold_water", "", D("7.25"))])
    assert found.total == D("259.47")
    assert found.meters[0].amount == D("220.28")
    assert [(f.fee.names["en"], f.amount) for f in found.fees] == [("Water supply subscription fee", D("22.31")),
                                                                  ("Sewage subscription fee", D("16.88"))]


def test_the_lines_always_add_up_to_the_total_rounded_once():
    # two hot water meters of 0.5 m³: 48.945 each, 97.89 together; rounding each line would say 97.90
    found = estimate(SUPPLIERS["heat"], Period(2026, 11),
                     [Usage(1, "hot_water", "", D("0.5")), Usage(2, "hot_water", "", D("0.5"))])
    assert found.total == D("97.89")
    assert [m.amount for m in found.meters] == [D("48.95"), D("48.94")]


def test_a_fee_ending_inside_the_period_counts_for_its_days():
    # November has 30 days; a 30.00 fee in force for 12 of them -> 12.00; 2 m³ × 10 = 20.00
    fee = Fee("service", D("30"), date(2026, 1, 1), date(2026, 11, 12), {"uk": "Абонплата", "en": "Fee"})
    spec = replace(SUPPLIERS["gas"], tariffs=(Tariff("gas", D("10"), date(2026, 1, 1)),), fees=(fee,))
    found = estimate(spec, Period(2026, 11), gas("2"))
    assert [f.amount for f in found.fees] == [D("12.00")] and found.total == D("32.00")


def test_the_total_leaves_out_a_meter_without_a_price_and_names_it():
    spec = replace(SUPPLIERS["heat"], tariffs=SUPPLIERS["heat"].tariffs[1:])  # hot water only
    found = estimate(spec, Period(2026, 11), [Usage(1, "heating", "", D("1.2")), Usage(2, "hot_water", "", D("2"))])
    assert found.total == D("195.78")  # 2 × 97.89; heating left out
    assert [(m.meter_id, m.gap) for m in found.left_out] == [(1, Gap.NO_PRICE)]


def test_a_meter_without_consumption_is_left_out_as_such():
    found = estimate(SUPPLIERS["heat"], Period(2026, 11), [Usage(1, "heating", "", None),
                                                           Usage(2, "hot_water", "", D("1"))])
    assert found.total == D("97.89")
    assert [(m.meter_id, m.gap) for m in found.left_out] == [(1, Gap.NO_CONSUMPTION)]


def test_a_heating_month_to_the_kopiyka():
    # 0.873 Gcal × 1654.41 = 1444.29993 -> 1444.30
    found = estimate(SUPPLIERS["heat"], Period(2026, 11), [Usage(1, "heating", "", D("0.873"))])
    assert found.total == D("1444.30")
