"""Bills and payments: what a resident reads of their accounts' balances, payments and charges."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from core.events import Reply, decode_replies, encode_replies, t
from core.money import Money
from core.payments import parse_payments
from core.supplier_config import load_suppliers
from bot.dialogs.paying import latest_balance
from bot.dialogs.render import MONEY_SPACE, format_money, render_text
from tests.conftest import HEAT
from tests.fakes import FakeUnitOfWork, Store
from tests.talk import Talk
from tests.test_conversation import link

SUPPLIERS = load_suppliers()


async def billed(store: Store, rows: str) -> None:
    """The operator imported these rows (``supplier,account,date,amount,kind`` lines) from the supplier."""
    entries = parse_payments(("supplier,account,date,amount,kind\n" + rows).encode(), SUPPLIERS,
                             today=date(2026, 11, 20))
    async with FakeUnitOfWork(store) as uow:
        await uow.payments.add(entries, datetime(2026, 11, 20, tzinfo=timezone.utc))
        await uow.commit()


async def money_screen(talk: Talk) -> tuple[str, str]:
    """The screen as a resident with one linked account reads it, in Ukrainian and in English
    (spaces inside amounts are no-break spaces: written here as plain ones)."""
    await talk.say("/menu")
    await talk.press("btn_money")
    assert talk.keys == ["money"]
    return talk.text("uk").replace(MONEY_SPACE, " "), talk.text("en").replace(MONEY_SPACE, " ")


@pytest.mark.parametrize(("amount", "uk", "en"), [
    ("1234.56", "1 234,56 грн", "UAH 1,234.56"),
    ("1234567.5", "1 234 567,50 грн", "UAH 1,234,567.50"),
    ("0.5", "0,50 грн", "UAH 0.50"),
    ("0", "0,00 грн", "UAH 0.00"),
    ("-101.4", "-101,40 грн", "-UAH 101.40"),
    ("12.345", "12,35 грн", "UAH 12.35"),  # only rounds what was not rounded to kopiyky already
])
def test_money_reads_as_each_language_writes_it_with_no_break_spaces(amount, uk, en):
    assert format_money(Money(Decimal(amount)), "uk") == uk.replace(" ", MONEY_SPACE)
    assert format_money(Money(Decimal(amount)), "en") == en.replace(" ", MONEY_SPACE)
    owes = render_text(t("money_owes", on=date(2026, 11, 1), amount=Money(Decimal(amount))), "en")
    assert owes.replace(MONEY_SPACE, " ") == f"As of 01.11.2026 you owe {en}."


def test_money_waits_in_the_outbox_as_money():
    reply = Reply(t("money_owes", on=date(2026, 11, 1), amount=Money(Decimal("10.50"))))
    assert decode_replies(encode_replies((reply,))) == (reply,)


async def test_a_resident_who_owes_sees_the_balance_the_payments_since_and_twelve_months(talk, store, heat_account):
    await billed(store, f"heat,{HEAT},2026-10-01,320.90,charge\n"
                        f"heat,{HEAT},2026-10-12,320.90,payment\n"
                        f"heat,{HEAT},2026-11-01,1234.56,charge\n"
                        f"heat,{HEAT},2026-11-01,1234.56,balance\n"
                        f"heat,{HEAT},2026-11-10,1000,payment\n"
                        f"heat,{HEAT},2026-11-10,1000,payment\n")  # two payments alike: both count
    await link(talk)
    uk, en = await money_screen(talk)
    assert uk == (
        "💳 Тепло та гаряча вода •••0001 · 1 Test St, кв. 5\n\n"
        "Станом на 01.11.2026 до сплати: 1 234,56 грн.\n\n"
        "Після 01.11.2026 надійшли оплати (у залишку їх ще немає):\n"
        "• 10.11.2026 — оплата 1 000,00 грн\n"
        "• 10.11.2026 — оплата 1 000,00 грн\n"
        "Разом: 2 000,00 грн\n\n"
        "Оплати й нарахування за останні 12 місяців (з 01.12.2025):\n"
        "• 10.11.2026 — оплата 1 000,00 грн\n"
        "• 10.11.2026 — оплата 1 000,00 грн\n"
        "• 01.11.2026 — нараховано 1 234,56 грн\n"
        "• 12.10.2026 — оплата 320,90 грн\n"
        "• 01.10.2026 — нараховано 320,90 грн\n\n"
        "Оплачено разом: 2 320,90 грн\n"
        "Нараховано разом: 1 555,46 грн\n\n"
        "Дані — з обліку постачальника; щойно зроблена оплата може з'явитися за кілька днів."
    )
    assert "As of 01.11.2026 you owe UAH 1,234.56." in en
    assert "Payments received after 01.11.2026 (not in the balance yet):\n• 10.11.2026 — payment UAH 1,000.00" in en
    assert "• 01.11.2026 — charge UAH 1,234.56" in en
    assert "Paid in all: UAH 2,320.90\nCharged in all: UAH 1,555.46" in en
    assert talk.button_keys == ["btn_menu"]  # one account: no "another account"


async def test_an_overpaid_account_says_so_with_the_amount_overpaid(talk, store, heat_account):
    await billed(store, f"heat,{HEAT},2026-11-01,-101.40,balance\n")
    await link(talk)
    uk, en = await money_screen(talk)
    assert "Станом на 01.11.2026 переплата: 101,40 грн." in uk
    assert "As of 01.11.2026 you have overpaid UAH 101.40." in en
    assert "Оплат і нарахувань за останні 12 місяців (з 01.12.2025) немає." in uk
    assert "No payments or charges in the last 12 months (since 01.12.2025)." in en


async def test_a_zero_balance_is_nothing_owed_and_the_latest_date_counts(talk, store, heat_account):
    await billed(store, f"heat,{HEAT},2026-10-01,500,balance\n"
                        f"heat,{HEAT},2026-11-01,0,balance\n"
                        f"heat,{HEAT},2026-10-20,500,payment\n")
    await link(talk)
    uk, en = await money_screen(talk)
    assert "Станом на 01.11.2026 боргу немає." in uk
    assert "As of 01.11.2026 nothing is owed." in en
    assert "Після" not in uk  # the payment of 20.10 is in the balance of 01.11 already
    assert "• 20.10.2026 — оплата 500,00 грн" in uk


async def test_no_balance_yet_is_said_plainly_and_the_movements_still_show(talk, store, heat_account):
    await billed(store, f"heat,{HEAT},2026-11-01,1234.56,charge\n")
    await link(talk)
    uk, en = await money_screen(talk)
    assert "Постачальник ще не передав залишку за цим рахунком." in uk
    assert "The supplier has not given a balance for this account yet." in en
    assert "• 01.11.2026 — нараховано 1 234,56 грн" in uk
    async with FakeUnitOfWork(store) as uow:
        assert await latest_balance(uow, heat_account) is None


async def test_the_twelve_months_are_whole_months_this_one_and_the_eleven_before(talk, store, heat_account):
    await billed(store, f"heat,{HEAT},2025-11-30,111,payment\n"
                        f"heat,{HEAT},2025-12-01,222,payment\n"
                        f"heat,{HEAT},2026-11-20,333,charge\n")  # today counts
    await link(talk)
    uk, en = await money_screen(talk)
    assert "30.11.2025" not in uk and "111,00" not in uk
    assert "• 01.12.2025 — оплата 222,00 грн" in uk and "• 20.11.2026 — нараховано 333,00 грн" in uk
    assert "Paid in all: UAH 222.00\nCharged in all: UAH 333.00" in en


async def test_payments_after_an_old_balance_show_even_before_the_twelve_months(talk, store, heat_account):
    await billed(store, f"heat,{HEAT},2025-10-01,50,balance\n"
                        f"heat,{HEAT},2025-10-15,50,payment\n")
    await link(talk)
    uk, _ = await money_screen(talk)
    assert "Станом на 01.10.2025 до сплати: 50,00 грн." in uk
    assert "Після 01.10.2025 надійшли оплати (у залишку їх ще немає):\n• 15.10.2025 — оплата 50,00 грн" in uk
    assert "Оплат і нарахувань за останні 12 місяців (з 01.12.2025) немає." in uk


async def test_with_two_accounts_the_resident_chooses_and_can_switch(talk, store, heat_account):
    store.add_account("gas", "3000000001", payment="1")
    await billed(store, f"heat,{HEAT},2026-11-01,10,balance\ngas,3000000001,2026-11-01,-5,balance\n")
    await link(talk)
    await link(talk, supplier="gas", number="3000000001", proof="1")
    await talk.press("btn_money")
    assert talk.keys == ["money_choose_account"]
    await talk.press("account_button", account=talk.last[0].buttons[1][0].label.params["account"])
    assert "Станом на 01.11.2026 переплата: 5,00 грн." in talk.text("uk").replace(MONEY_SPACE, " ")
    assert talk.button_keys == ["btn_history_other", "btn_menu"]
    await talk.press("btn_history_other")
    assert talk.keys == ["money_choose_account"]


async def test_without_accounts_the_screen_offers_to_link_one(talk):
    await talk.start()
    await talk.press("btn_money")
    assert talk.keys == ["no_accounts"]
    await talk.press("btn_link")
    assert talk.keys == ["link_choose_supplier"]


async def test_a_resident_never_sees_the_money_of_an_account_they_have_not_linked(service, store, heat_account):
    neighbour = store.add_account("heat", "100000000000002", payment="77.00")
    store.add_account("gas", "3000000001", payment="1")
    await billed(store, "heat,100000000000002,2026-11-01,9876.54,balance\n"
                        "heat,100000000000002,2026-11-02,4321.00,payment\n")
    talk = Talk(service, "telegram", "42")
    await link(talk)
    await link(talk, supplier="gas", number="3000000001", proof="1")
    await talk.press("btn_money")
    forged = talk.button("account_button").payload.rsplit(":", 1)[0] + f":{neighbour.id}"
    await talk.press_payload(forged)
    assert talk.keys[0] == "stale_button"
    for language in ("uk", "en"):
        shown = talk.text(language).replace(MONEY_SPACE, " ")
        assert "9 876,54" not in shown and "9,876.54" not in shown and "4 321" not in shown and "4,321" not in shown
    await talk.press("account_button", account=talk.last[-1].buttons[0][0].label.params["account"])
    assert talk.keys == ["money"] and "•••0001" in talk.text("uk") and "9 876" not in talk.text("uk")


async def test_an_account_unlinked_meanwhile_shows_nothing_on_a_refresh(talk, store, heat_account):
    await billed(store, f"heat,{HEAT},2026-11-01,1234.56,balance\n")
    await link(talk)
    await talk.say("/menu")
    await talk.press("btn_money")
    assert talk.keys == ["money"]
    store.links.clear()  # unlinked in another chat
    await talk.sticker()  # shows the step again
    assert talk.keys == ["unsupported", "menu"]
    assert "1 234,56" not in talk.text("uk").replace(MONEY_SPACE, " ")
