"""A supplier's billing file (payments, charges, balances): checked whole, stored once, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.payments import Balance, BillingEntry, BillingKind, PaymentsFileError, last_twelve_months, parse_payments
from core.supplier_config import load_suppliers
from bot.dialogs.render import MONEY_SPACE
from storage.models import BillingEntryRow
from tests.fakes import FakeUnitOfWork, Store
from tests.talk import Talk
from tests.test_conversation import link
from tests.test_storage import load_demo

SUPPLIERS = load_suppliers()
DEMO = Path(__file__).resolve().parent.parent / "demo" / "payments.csv"
TODAY = date(2026, 11, 20)
AT = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
HEADER = "supplier,account,date,amount,kind\n"
GOOD = HEADER + (
    "heat,100000000000001,2026-10-01,320.90,charge\n"
    "heat,100 000 000 000 001,2026-10-12,320.9,payment\n"
    'heat,100000000000001,2026-11-01,"1234,56",balance\n'
    "water,20000001,2026-11-01,-101.40,balance\n"
    "water,20000001,2026-11-05,50,payment\n"
    "water,20000001,2026-11-05,50,payment\n"  # a second payment of the same amount that day: two payments
    "\n"
    "gas,3000000001,2026-11-20,0,balance\n"
)


def problems(text: str | bytes) -> list[str]:
    with pytest.raises(PaymentsFileError) as caught:
        parse_payments(text.encode() if isinstance(text, str) else text, SUPPLIERS, "p.csv", today=TODAY)
    return caught.value.problems


def test_a_good_file_gives_every_row_with_identical_rows_counted():
    entries = parse_payments(GOOD.encode("utf-8-sig"), SUPPLIERS, today=TODAY)  # Excel's BOM is read past
    assert [(e.supplier, e.account, e.on, e.kind, e.amount, e.occurrence) for e in entries] == [
        ("heat", "100000000000001", date(2026, 10, 1), BillingKind.CHARGE, Decimal("320.90"), 1),
        ("heat", "100000000000001", date(2026, 10, 12), BillingKind.PAYMENT, Decimal("320.90"), 1),
        ("heat", "100000000000001", date(2026, 11, 1), BillingKind.BALANCE, Decimal("1234.56"), 1),
        ("water", "20000001", date(2026, 11, 1), BillingKind.BALANCE, Decimal("-101.40"), 1),
        ("water", "20000001", date(2026, 11, 5), BillingKind.PAYMENT, Decimal("50.00"), 1),
        ("water", "20000001", date(2026, 11, 5), BillingKind.PAYMENT, Decimal("50.00"), 2),
        ("gas", "3000000001", date(2026, 11, 20), BillingKind.BALANCE, Decimal("0.00"), 1),
    ]


@pytest.mark.parametrize(("row", "message"), [
    ("oil,1,2026-11-01,1.00,payment", "unknown supplier 'oil'; known: heat, water, gas, electricity"),
    ("heat,12345,2026-11-01,1.00,payment", "account '12345' does not match the heat format (e.g. 100000000000001)"),
    ("heat,100000000000001,01.11.2026,1.00,payment", "date '01.11.2026' is not a date YYYY-MM-DD"),
    ("heat,100000000000001,2026-02-30,1.00,payment", "date '2026-02-30' is not a date YYYY-MM-DD"),
    ("heat,100000000000001,2026-11-21,1.00,payment", "date '2026-11-21' is in the future (today is 2026-11-20)"),
    ("heat,100000000000001,2026-11-01,1.005,payment", "amount '1.005' is not an amount like 1234.56"),
    ('heat,100000000000001,2026-11-01,"1,234",payment', "amount '1,234' is not an amount like 1234.56"),
    ('heat,100000000000001,2026-11-01,"1 234.00",payment', "amount '1 234.00' is not an amount like 1234.56"),
    ("heat,100000000000001,2026-11-01,1e3,payment", "amount '1e3' is not an amount like 1234.56"),
    ("heat,100000000000001,2026-11-01,,payment", "amount '' is not an amount like 1234.56"),
    ("heat,100000000000001,2026-11-01,1000000000,balance", "amount '1000000000' is not an amount"),
    ("heat,100000000000001,2026-11-01,0,payment", "amount '0' of a payment must be above zero"),
    ("heat,100000000000001,2026-11-01,-5.00,charge", "amount '-5.00' of a charge must be above zero"),
    ("heat,100000000000001,2026-11-01,5.00,refund", "kind 'refund' is not one of payment, charge, balance"),
    ("heat,100000000000001,2026-11-01,5.00", "4 field(s), the header has 5"),
    ("heat,100000000000001,2026-11-01,5.00,payment,x", "6 field(s), the header has 5"),
    ("heat," + "1" * 65 + ",2026-11-01,5.00,payment", "account is 65 characters long (at most 64)"),
])
def test_each_bad_row_is_named_by_its_line(row, message):
    found = problems(HEADER + "heat,100000000000001,2026-11-01,5.00,payment\n" + row + "\n")
    assert len(found) == 1 and found[0].startswith(f"p.csv:3: {message}"), found


def test_every_problem_of_every_line_is_listed_in_line_order():
    found = problems(GOOD + "oil,1,2026-13-01,x,gift\n" + "heat,100000000000001,2026-11-01,-1,payment\n")
    assert found == [
        "p.csv:10: unknown supplier 'oil'; known: heat, water, gas, electricity",
        "p.csv:10: date '2026-13-01' is not a date YYYY-MM-DD",
        "p.csv:10: kind 'gift' is not one of payment, charge, balance",
        "p.csv:10: amount 'x' is not an amount like 1234.56 (up to 9 digits, at most 2 decimals after '.', "
        "no thousands separators)",
        "p.csv:11: amount '-1' of a payment must be above zero",
    ]


def test_a_second_balance_for_one_account_and_day_is_refused():
    found = problems(HEADER + "heat,100000000000001,2026-11-01,10,balance\n"
                              "heat,100000000000001,2026-11-01,12,balance\n")
    assert found == ["p.csv:3: a second balance of account 100000000000001 on 2026-11-01 (line 2); "
                     "a day has one balance"]


@pytest.mark.parametrize(("raw", "expected"), [
    (b"", ["p.csv: the file is empty; its first line is the header supplier,account,date,amount,kind"]),
    (b" \n\n", ["p.csv: the file is empty; its first line is the header supplier,account,date,amount,kind"]),
    ("supplier,account,date,amount,kind\n".encode("utf-16"), ["p.csv: UTF-16 text; save the file as UTF-8 CSV"]),
    (HEADER.encode() + "heat,100000000000001,2026-11-01,5,платіж\n".encode("cp1251"),
     ["p.csv:2: not UTF-8 text (byte 68); save the file as UTF-8 CSV"]),
    (b"supplier,account,date,sum\n", ["p.csv:1: missing column(s): amount, kind; the header is "
                                      "supplier,account,date,amount,kind", "p.csv:1: unknown column(s): 'sum'"]),
    (b"supplier,account,date,amount,kind,amount\n", ["p.csv:1: column(s) given more than once: amount"]),
    (b"\xef\xbb\xbf\xef\xbb\xbfsupplier,account,date,amount,kind\n",
     ["p.csv:1: missing column(s): supplier; the header is supplier,account,date,amount,kind",
      "p.csv:1: unknown column(s): '\\ufeffsupplier'"]),
], ids=["empty", "blank", "utf-16", "cp1251", "missing-unknown", "repeated", "two-boms"])
def test_a_file_that_cannot_be_read_as_the_format_is_refused_plainly(raw, expected):
    assert problems(raw) == expected


def test_a_cell_beyond_the_csv_reader_limit_stops_reading_with_its_line():
    found = problems(HEADER + "heat,100000000000001,2026-11-01,5,payment\n" + "heat," + "9" * 200_000 + ",x\n")
    assert found == ["p.csv:3: unreadable CSV (field larger than field limit (131072)); nothing after it was read"]


def test_a_file_with_only_its_header_holds_nothing():
    assert parse_payments(HEADER.encode(), SUPPLIERS, today=TODAY) == []


def test_the_demo_file_is_good_as_of_the_demo_date():
    entries = parse_payments(DEMO.read_bytes(), SUPPLIERS, today=TODAY)
    assert {(e.supplier, e.account) for e in entries} == {
        ("heat", "100000000000001"), ("water", "20000001"), ("electricity", "40000001")}


def test_the_last_twelve_months_are_whole_months_this_one_and_the_eleven_before():
    assert last_twelve_months(date(2026, 11, 20)) == date(2025, 12, 1)
    assert last_twelve_months(date(2026, 12, 10)) == date(2026, 1, 1)
    assert last_twelve_months(date(2028, 2, 29)) == date(2027, 3, 1)


# the same behaviour from SQL (SQLite, PostgreSQL) and from the fake the conversation tests use

async def _stored_twice(uow_factory) -> tuple[int, int, int, int]:
    entries = parse_payments(GOOD.encode(), SUPPLIERS, today=TODAY)
    async with uow_factory() as uow:
        first = await uow.payments.add(entries, AT)
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.payments.add(parse_payments(GOOD.encode(), SUPPLIERS, today=TODAY), AT)
        await uow.commit()
    # a later file overlapping the first: only its new row is new
    later = parse_payments((GOOD + "water,20000001,2026-11-05,50,payment\n").encode(), SUPPLIERS, today=TODAY)
    async with uow_factory() as uow:
        overlapping = await uow.payments.add(later, AT)
        await uow.commit()
    return len(entries), first, again, overlapping


async def _what_a_screen_reads(uow_factory) -> tuple[object, ...]:
    async with uow_factory() as uow:
        return (
            await uow.payments.latest_balance("heat", "100000000000001"),
            await uow.payments.latest_balance("water", "20000001"),
            await uow.payments.latest_balance("electricity", "40000001"),
            [(e.on, e.kind, e.amount, e.occurrence) for e in await uow.payments.entries("water", "20000001",
                                                                                       date(2026, 1, 1))],
            [(e.on, e.kind) for e in await uow.payments.entries("heat", "100000000000001", date(2026, 10, 2))],
            await uow.payments.unregistered({("heat", "100000000000001"), ("gas", "3000000001"), ("gas", "3999")}),
        )


EXPECTED_READ = (
    Balance(Decimal("1234.56"), date(2026, 11, 1)),
    Balance(Decimal("-101.40"), date(2026, 11, 1)),
    None,
    [(date(2026, 11, 5), BillingKind.PAYMENT, Decimal("50.00"), 3),
     (date(2026, 11, 5), BillingKind.PAYMENT, Decimal("50.00"), 2),
     (date(2026, 11, 5), BillingKind.PAYMENT, Decimal("50.00"), 1)],
    [(date(2026, 10, 12), BillingKind.PAYMENT)],  # since is inclusive: the charge of 01.10 is before it
)


async def test_a_file_imported_twice_is_stored_once_and_identical_rows_are_kept(sql_app):
    await load_demo(sql_app)
    assert await _stored_twice(sql_app.uow_factory) == (7, 7, 0, 1)
    async with sql_app.uow_factory() as uow:
        assert (await uow.session.execute(select(func.count()).select_from(BillingEntryRow))).scalar_one() == 8
    read = await _what_a_screen_reads(sql_app.uow_factory)
    assert read[:5] == EXPECTED_READ
    assert read[5] == {("gas", "3999")}  # the demo register holds the others


async def test_the_fake_stores_and_reads_as_sql_does(store: Store):
    store.add_account("heat", "100000000000001")
    store.add_account("gas", "3000000001")
    assert await _stored_twice(lambda: FakeUnitOfWork(store)) == (7, 7, 0, 1)
    assert len(store.billing) == 8
    read = await _what_a_screen_reads(lambda: FakeUnitOfWork(store))
    assert read == (*EXPECTED_READ, {("gas", "3999")})


async def _latest_after_a_correction(uow_factory) -> Balance | None:
    for amount in ("10", "12.50"):  # the supplier corrected the balance of a day in a later file
        async with uow_factory() as uow:
            await uow.payments.add([BillingEntry("gas", "3000000001", date(2026, 11, 1), BillingKind.BALANCE,
                                                 Decimal(amount))], AT)
            await uow.commit()
    async with uow_factory() as uow:
        await uow.payments.add([BillingEntry("gas", "3000000001", date(2026, 10, 1), BillingKind.BALANCE,
                                             Decimal("99"))], AT)  # an older day, imported last
        await uow.commit()
        return await uow.payments.latest_balance("gas", "3000000001")


async def test_the_latest_day_wins_and_of_one_day_the_last_imported(sql_app, store):
    expected = Balance(Decimal("12.50"), date(2026, 11, 1))
    assert await _latest_after_a_correction(sql_app.uow_factory) == expected
    assert await _latest_after_a_correction(lambda: FakeUnitOfWork(store)) == expected


async def test_a_big_file_goes_in_bulk_and_again_adds_nothing(sql_app):
    entries = [BillingEntry("heat", f"1{n:014d}", date(2026, 1 + n % 10, 1 + n % 28), BillingKind.PAYMENT,
                            Decimal(n % 997 + 1)) for n in range(5000)]
    async with sql_app.uow_factory() as uow:
        assert await uow.payments.add(entries, AT) == 5000
        await uow.commit()
    async with sql_app.uow_factory() as uow:
        assert await uow.payments.add(entries, AT) == 0
        assert len(await uow.payments.unregistered({(e.supplier, e.account) for e in entries})) == 5000


async def test_a_resident_reads_the_imported_balance_from_the_database(sql_app):
    await load_demo(sql_app)
    async with sql_app.uow_factory() as uow:
        await uow.payments.add(parse_payments(DEMO.read_bytes(), SUPPLIERS, today=TODAY), AT)
        await uow.commit()
    talk = Talk(sql_app.service, "console", "42")
    await link(talk)
    await talk.press("btn_money")
    shown = talk.text("en").replace(MONEY_SPACE, " ")
    assert "As of 01.11.2026 you owe UAH 1,468.12." in shown
    assert "Paid in all: UAH 11,565.46\nCharged in all: UAH 11,799.02" in shown
