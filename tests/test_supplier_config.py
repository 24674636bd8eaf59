from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.domain import PaymentDetails
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


GAS_TARIFF = ('[[suppliers.gas.tariffs]]\nservice = "gas"\nprice = "{price}"\nvalid_from = {start}\n'
              '{end}source = "test"\n')


def gas_tariffs(*spans: tuple[str, str, str | None]) -> str:
    return "".join(GAS_TARIFF.format(price=price, start=start, end=f"valid_to = {end}\n" if end else "")
                   for price, start, end in spans)


PAYMENT = ('[suppliers.water.payment]\nrecipient = "Example water company"\niban = "{iban}"\nedrpou = "{edrpou}"\n'
           'source = "test"\n')


@pytest.mark.parametrize("content, message", [
    (gas_tariffs(("7.96", "2026-01-01", "2026-04-30"), ("9.10", "2026-04-30", None)),
     "suppliers.gas.tariffs[2]: gas: 2026-04-30..open-ended overlaps 2026-01-01..2026-04-30 of tariffs[1]"),
    (gas_tariffs(("7.96", "2026-01-01", None), ("9.10", "2026-06-01", None)),
     "suppliers.gas.tariffs[2]: gas: 2026-06-01..open-ended overlaps 2026-01-01..open-ended"),
    (gas_tariffs(("-7.96", "2026-01-01", None)), "suppliers.gas.tariffs[1].price: must be more than zero"),
    (gas_tariffs(("0", "2026-01-01", None)), "suppliers.gas.tariffs[1].price: must be more than zero"),
    (gas_tariffs(("seven", "2026-01-01", None)), "suppliers.gas.tariffs[1].price: a number of hryvnias"),
    (gas_tariffs(("7.96", "2026-05-01", "2026-04-30")),
     "suppliers.gas.tariffs[1].valid_to: 2026-04-30 is before valid_from 2026-05-01"),
    (gas_tariffs(("7.96", '"2026-02-30"', None)), "suppliers.gas.tariffs[1].valid_from: a date, written 2026-04-30"),
    ('[[suppliers.gas.tariffs]]\nservice = "steam"\nprice = "1"\nvalid_from = 2026-01-01\nsource = "x"\n',
     "suppliers.gas.tariffs[1].service: 'steam' is not one of this supplier's services"),
    ('[[suppliers.gas.tariffs]]\nservice = "gas"\nzone = "night"\nprice = "1"\nvalid_from = 2026-01-01\n'
     'source = "x"\n', "suppliers.gas.tariffs[1].zone: 'night' is not a zone of gas"),
    ('[[suppliers.gas.tariffs]]\nservice = "gas"\nprice = "1"\nvalid_from = 2026-01-01\n',
     "suppliers.gas.tariffs[1].source: required text"),
    ('[[suppliers.water.tariffs]]\nservice = "cold_water"\nprice = "30.384"\nvalid_from = 2022-01-01\n'
     'source = "x"\n[[suppliers.water.tariffs]]\nservice = "cold_water"\npart = "sewage"\nname_uk = "В"\n'
     'name_en = "S"\nprice = "14.22"\nvalid_from = 2022-01-01\nsource = "x"\n',
     "suppliers.water.tariffs[2]: cold_water: a whole price and named parts"),
    ('[[suppliers.water.fees]]\nid = "sub"\nname_uk = "А"\nname_en = "F"\namount = "-1"\nvalid_from = 2022-01-01\n'
     'source = "x"\n', "suppliers.water.fees[1].amount: must be more than zero"),
    ('[[suppliers.water.fees]]\nid = "sub"\nname_uk = "А"\nname_en = "F"\namount = "1"\nvalid_from = 2022-01-01\n'
     'source = "x"\n' * 2, "suppliers.water.fees[2]: fee sub: 2022-01-01..open-ended overlaps"),
    (PAYMENT.format(iban="UA213223130000026007233566002", edrpou="32855961"),
     "suppliers.water.payment.iban: not a valid IBAN"),
    (PAYMENT.format(iban="DE89370400440532013000", edrpou="32855961"),
     "suppliers.water.payment.iban: a Ukrainian IBAN starts with UA"),
    (PAYMENT.format(iban="UA213223130000026007233566001", edrpou="32855962"),
     "suppliers.water.payment.edrpou: not a valid EDRPOU code"),
    # a checksum python-stdnum accepts, but letters where the NBU QR code takes only digits
    (PAYMENT.format(iban="UA803223130000026007ABC566001", edrpou="32855961"),
     "suppliers.water.payment: cannot go into the NBU payment QR code: iban:"),
    (PAYMENT.replace('"Example water company"', '"""Example\nwater company"""').format(
        iban="UA213223130000026007233566001", edrpou="32855961"),
     "suppliers.water.payment: cannot go into the NBU payment QR code: recipient: a line break"),
    (PAYMENT.format(iban="UA213223130000026007233566001", edrpou="32855961") + 'page_url = "http://x/{account}"\n',
     "suppliers.water.payment.page_url: an https:// address"),
    (PAYMENT.format(iban="UA213223130000026007233566001", edrpou="32855961") + 'page_url = "https://x/{account}"\n',
     "suppliers.water.payment.page_url: a template with {account} and {amount}"),
    (PAYMENT.format(iban="UA213223130000026007233566001", edrpou="32855961") + 'discount_by_day = 31\n'
     'discount_percent = "2"\n', "suppliers.water.payment.discount_by_day: a whole number from 1 to 28"),
    (PAYMENT.format(iban="UA213223130000026007233566001", edrpou="32855961") + 'discount_by_day = 15\n'
     'discount_percent = "100"\n', "suppliers.water.payment.discount_percent: less than 100"),
    (PAYMENT.replace("Example water company", "x" * 71).format(iban="UA213223130000026007233566001",
                                                               edrpou="32855961"),
     "suppliers.water.payment.recipient: at most 70 characters"),
])
def test_bad_prices_and_payment_details_are_refused_with_file_key_and_reason(tmp_path, content, message):
    path = tmp_path / "suppliers.toml"
    path.write_text(content, "utf-8")
    with pytest.raises(SupplierConfigError) as caught:
        load_suppliers(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)


def test_an_operator_file_replaces_a_suppliers_tariffs_whole_to_add_the_next_price(tmp_path):
    path = tmp_path / "suppliers.toml"
    path.write_text(gas_tariffs(("7.96", "2022-05-01", "2026-04-30"), ("9.10", "2026-05-01", None)), "utf-8")
    suppliers = load_suppliers(path)
    assert [(t.price, t.valid_from, t.valid_to) for t in suppliers["gas"].tariffs] == [
        (Decimal("7.96"), date(2022, 5, 1), date(2026, 4, 30)), (Decimal("9.10"), date(2026, 5, 1), None)]
    assert suppliers["gas"].tariffs[1].source == "test"
    assert len(suppliers["water"].tariffs) == 2  # other suppliers keep the shipped prices


def test_payment_details_load_checked_and_normalised(tmp_path):
    path = tmp_path / "suppliers.toml"
    path.write_text(PAYMENT.format(iban="UA21 3223 1300 0002 6007 2335 6600 1", edrpou="32855961")
                    + 'page_url = "https://pay.example.com/?a={account}&s={amount}"\ndiscount_by_day = 15\n'
                      'discount_percent = "2.5"\n', "utf-8")
    payment = load_suppliers(path)["water"].payment
    assert payment == PaymentDetails(recipient="Example water company", iban="UA213223130000026007233566001",
                                     edrpou="32855961", page_url="https://pay.example.com/?a={account}&s={amount}",
                                     discount_by_day=15, discount_percent=Decimal("2.5"), source="test")
    assert load_suppliers()["water"].payment is None  # no real details are shipped without a source


def test_the_tests_payment_override_file_loads():
    from pathlib import Path

    suppliers = load_suppliers(Path(__file__).with_name("suppliers_with_payment.toml"))
    heat, water = suppliers["heat"].payment, suppliers["water"].payment
    assert heat is not None and heat.discount_by_day == 15 and heat.page_url is not None
    assert water is not None and water.page_url is None and water.discount_percent is None
    assert suppliers["gas"].payment is None
