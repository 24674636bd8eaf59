from __future__ import annotations

import pytest

from core.supplier_config import SupplierConfigError, load_suppliers


def test_the_shipped_defaults_name_four_suppliers_with_their_sources():
    suppliers = load_suppliers()
    assert list(suppliers) == ["heat", "water", "gas", "electricity"]
    assert [s.id for s in suppliers["heat"].services] == ["heating", "hot_water"]
    assert suppliers["electricity"].services[0].zones == ("day", "night")
    assert all(s.window.source and s.source for s in suppliers.values())
    assert suppliers["heat"].account_number_ok("100000000000001")
    assert not suppliers["heat"].account_number_ok("10000000000001")


def test_an_operator_file_overrides_one_value_and_keeps_the_rest(tmp_path):
    path = tmp_path / "suppliers.toml"
    path.write_text('[suppliers.heat.window]\nopens_day = -7\ncloses_day = 1\ncloses_next_month = true\n'
                    '[suppliers.heat]\ncontacts_uk = "1557"\n', "utf-8")
    heat = load_suppliers(path)["heat"]
    assert (heat.window.opens_day, heat.window.closes_day, heat.window.closes_next_month) == (-7, 1, True)
    assert heat.contacts["uk"] == "1557" and heat.names["en"] == "Heating and hot water"


@pytest.mark.parametrize("content, message", [
    ("[suppliers.heat\n", "not valid TOML"),
    ("[suppliers.heat.window]\nopens_day = 0\n", "suppliers.heat.window: days count from 1"),
    ("[suppliers.heat.window]\nopens_day = 20\ncloses_day = 5\n", "closes before it opens"),
    ("[suppliers.heat]\naccount_pattern = \"[0-9\"\n", "account_pattern: not a regular expression"),
    ("[suppliers.heat]\naccount_example = \"abc\"\n", "account_example: 'abc' does not match"),
    ("[suppliers.heat.services.steam]\nunit = \"t\"\n", "suppliers.heat.services.steam: unknown service"),
    ("[suppliers.heat.services.heating]\ndigits = \"five\"\n", "digits: a whole number from 1 to 12"),
])
def test_a_bad_file_is_refused_with_where_and_why(tmp_path, content, message):
    path = tmp_path / "suppliers.toml"
    path.write_text(content, "utf-8")
    with pytest.raises(SupplierConfigError) as caught:
        load_suppliers(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(SupplierConfigError, match="no such file"):
        load_suppliers(tmp_path / "nope.toml")
