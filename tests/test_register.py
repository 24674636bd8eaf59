"""The supplier's register: the whole file is checked before anything is imported."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.register import RegisterError, parse_register
from core.supplier_config import load_suppliers

SUPPLIERS = load_suppliers()
HEADER = "supplier,account,address,apartment,last_payment,meter,service,zone,last_reading,last_reading_date\n"
GOOD = HEADER + (
    'heat,100000000000001,"Kyiv, 1 St",15,1234.56,HT-1,heating,,1520.125,2026-10-28\n'
    'heat,100000000000001,"Kyiv, 1 St",15,1234.56,HW-1,hot_water,,312.4,2026-10-28\n'
    "electricity,40000001,Kyiv,3,,E-1,electricity,day,100.5,2026-11-01\n"
    "electricity,40000001,Kyiv,3,,E-1,electricity,night,50,2026-11-01\n"
)


def problems(text: str) -> list[str]:
    with pytest.raises(RegisterError) as caught:
        parse_register(text.encode(), SUPPLIERS, "r.csv")
    return caught.value.problems


def test_a_good_register_groups_meters_under_accounts():
    accounts = parse_register(GOOD.encode("utf-8-sig"), SUPPLIERS)
    assert [(a.supplier, a.number, len(a.meters)) for a in accounts] == [
        ("heat", "100000000000001", 2), ("electricity", "40000001", 2)]
    assert accounts[1].last_payment is None
    assert [m.zone for m in accounts[1].meters] == ["day", "night"]


@pytest.mark.parametrize("row, message", [
    ("oil,1,a,1,,M,heating,,1,2026-01-01", "r.csv:2: unknown supplier 'oil'"),
    ("heat,123,a,1,,M,heating,,1,2026-01-01", "r.csv:2: account '123' does not match the heat format"),
    ("heat,100000000000001,a,1,,M,gas,,1,2026-01-01", "r.csv:2: unknown service 'gas' for heat"),
    ("heat,100000000000001,a,1,12.345,M,heating,,1,2026-01-01", "r.csv:2: last_payment '12.345'"),
    ("heat,100000000000001,a,1,,M,heating,,1,2026-13-01", "r.csv:2: last_reading_date '2026-13-01'"),
    ("heat,100000000000001,a,1,,M,heating,,1,01.01.2026", "r.csv:2: last_reading_date '01.01.2026'"),
    ("heat,100000000000001,a,1,,M,heating,,1e3,2026-01-01", "r.csv:2: last_reading '1e3'"),
    ("heat,100000000000001,a,1,,M,heating,,1,", "r.csv:2: last_reading and last_reading_date go together"),
    ("heat,100000000000001,a,1,,M,heating,day,1,2026-01-01", "r.csv:2: zone 'day' is not one of heating's zones"),
    ("heat,100000000000001,a,1,,,heating,,1,2026-01-01", "r.csv:2: empty meter serial number"),
    ("heat,100000000000001,a,1,,M,heating,,1,2026-01-01,extra", "r.csv:2: more fields than columns"),
])
def test_each_bad_row_is_named_by_its_line(row, message):
    found = problems(HEADER + row + "\n")
    assert len(found) == 1 and found[0].startswith(message), found


def test_every_problem_of_the_file_is_listed_not_just_the_first():
    text = GOOD + "oil,1,a,1,,M,heating,,1,2026-01-01\n" + "heat,1,a,1,,M,heating,,1,2026-01-01\n"
    assert [p.split(":")[1] for p in problems(text)] == ["6", "7"]


def test_conflicting_rows_for_one_account_are_refused():
    text = GOOD + 'heat,100000000000001,"Kyiv, 1 St",16,1234.56,HW-2,hot_water,,1,2026-10-28\n'
    assert problems(text) == ["r.csv:6: account 100000000000001 conflicts with line 2 (apartment differ)"]


def test_a_repeated_meter_is_refused():
    text = GOOD + 'heat,100000000000001,"Kyiv, 1 St",15,1234.56,HT-1,heating,,1,2026-10-28\n'
    assert problems(text) == ["r.csv:6: meter HT-1 of account 100000000000001 repeats line 2"]


def test_missing_and_unknown_columns_are_named():
    found = problems("supplier,account,colour\nheat,1,red\n")
    assert found[0].startswith("r.csv:1: missing column(s): address, apartment")
    assert found[1] == "r.csv:1: unknown column(s): colour"


def test_a_file_that_is_not_utf8_is_refused_plainly():
    with pytest.raises(RegisterError) as caught:
        parse_register(HEADER.encode() + "heat,1,Київ".encode("cp1251"), SUPPLIERS, "r.csv")
    assert "not UTF-8" in caught.value.problems[0]


TODAY = date(2026, 11, 20)  # the city's date the operator imports on
ELECTRICITY = "electricity,40000001,Kyiv,3,,E-1,electricity,"


def problems_on(text: str, today: date = TODAY) -> list[str]:
    with pytest.raises(RegisterError) as caught:
        parse_register(text.encode(), SUPPLIERS, "r.csv", today=today)
    return caught.value.problems


def test_a_good_register_dated_up_to_today_is_taken():
    assert len(parse_register(GOOD.encode(), SUPPLIERS, today=date(2026, 11, 1))) == 2


@pytest.mark.parametrize("row, message", [
    ("heat,100000000000001,a,,,M,heating,,1,2026-01-01",
     "r.csv:2: neither last_payment nor apartment: a resident could not prove the account is theirs"),
    ("heat,100000000000001,,1,,M,heating,,1,2026-01-01", "r.csv:2: empty address"),
    ("heat,100000000000001,a,1,,M,heating,,1,2026-11-21",
     "r.csv:2: last_reading_date '2026-11-21' is in the future (today is 2026-11-20)"),
])
def test_a_row_nobody_could_use_is_refused(row, message):
    assert problems_on(HEADER + row + "\n") == [message]


def test_every_problem_of_a_line_is_listed_not_just_the_first():
    found = problems_on(HEADER + "heat,100000000000001,,,,M,heating,,1,2027-01-01\n")
    assert found == [
        "r.csv:2: empty address",
        "r.csv:2: neither last_payment nor apartment: a resident could not prove the account is theirs",
        "r.csv:2: last_reading_date '2027-01-01' is in the future (today is 2026-11-20)",
    ]


def test_malformed_fields_of_one_line_are_all_named():
    found = problems_on(HEADER + "heat,123,,1,1.234,,heating,,1e3,01.01.2026\n")
    assert [p.split(": ", 1)[1].split(" ")[0] for p in found] == [
        "account", "empty", "last_payment", "last_reading", "last_reading_date", "empty"]


def test_a_two_zone_meter_with_only_one_zone_is_refused():
    found = problems_on(HEADER + ELECTRICITY + "day,100.5,2026-11-01\n")
    assert found == ["r.csv:2: meter E-1 of account 40000001 has zone(s) 'day' (line(s) 2); "
                     "a two-zone meter needs one row for each of day, night"]


def test_a_meter_with_and_without_a_zone_is_refused():
    found = problems_on(HEADER + ELECTRICITY + ",100.5,2026-11-01\n" + ELECTRICITY + "night,50,2026-11-01\n")
    assert found == ["r.csv:2: meter E-1 of account 40000001 has zone(s) none, 'night' (line(s) 2, 3); "
                     "a two-zone meter needs one row for each of day, night"]


def test_a_one_zone_electricity_meter_is_taken():
    accounts = parse_register((HEADER + ELECTRICITY + ",100.5,2026-11-01\n").encode(), SUPPLIERS, today=TODAY)
    assert [m.zone for m in accounts[0].meters] == [""]


def test_the_zones_of_one_meter_must_share_a_verification_date():
    header = HEADER.rstrip("\n") + ",verification_due\n"
    text = (header + ELECTRICITY + "day,100.5,2026-11-01,2028-05-01\n"
            + ELECTRICITY + "night,50,2026-11-01,2028-06-01\n")
    assert problems_on(text) == ["r.csv:3: verification_due 2028-06-01 of meter E-1 differs from line 2 "
                                 "(2028-05-01); the zones of one meter share one verification date"]


def test_problems_found_across_lines_are_listed_in_line_order():
    text = HEADER + ELECTRICITY + "day,100.5,2026-11-01\n" + "heat,100000000000001,,1,,M,heating,,1,2026-01-01\n"
    assert [p.split(":")[1] for p in problems_on(text)] == ["2", "3"]


def test_the_demo_register_imports():
    demo = Path(__file__).resolve().parent.parent / "demo" / "register.csv"
    assert len(parse_register(demo.read_bytes(), SUPPLIERS, today=date(2026, 11, 1))) == 4
