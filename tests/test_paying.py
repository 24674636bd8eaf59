"""Paying from the bills and payments screen: the amount, the discount, the NBU QR code and its link."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from core.domain import PaymentDetails
from core.paying import Discount, next_discount
from core.reminders import Campaign, CampaignKind
from core.ports import DueAccount, MissingMeter
from core.supplier_config import load_suppliers
from core.periods import Period
from bot.dialogs.notices import reminder
from bot.dialogs.render import MONEY_SPACE, render_text
from tests.conftest import HEAT, KYIV
from tests.test_money import billed
from tests.test_conversation import link
from tests.test_nbu_qr import decoded

WITH_PAYMENT = Path(__file__).with_name("suppliers_with_payment.toml")


@pytest.fixture
def suppliers():
    """Heat with example payment details, a payment page and 2% off for paying by the 15th."""
    return load_suppliers(WITH_PAYMENT)


def plain(text: str) -> str:
    return text.replace(MONEY_SPACE, " ")


async def open_money(talk) -> None:
    await talk.say("/menu")
    await talk.press("btn_money")


async def test_a_balance_owed_is_paid_by_qr_code_with_the_supplier_s_details_and_the_account(talk, store,
                                                                                              heat_account):
    await billed(store, f"heat,{HEAT},2026-11-01,1234.56,balance\n")
    await link(talk)
    await open_money(talk)
    uk = plain(talk.text("uk"))
    assert "Станом на 01.11.2026 до сплати: 1 234,56 грн." in uk
    # the 15th of November has passed: no discount now, the next day is named
    assert ("💡 Постачальник дає знижку 2 % за оплату до визначеного дня; цього місяця він минув, "
            "наступний — 15.12.2026.") in uk
    assert "💳 Сплатити 1 234,56 грн" in [plain(render_text(b.label, "uk")) for b in talk.last[0].buttons[0]]

    await talk.press("btn_pay", amount=talk.last[0].buttons[0][0].label.params["amount"])
    assert talk.keys == ["pay"]
    pay = talk.last[0]
    assert pay.qr is not None
    fields = decoded(pay.qr.link)
    assert fields["recipient"] == "KP Example Heat Company (EXAMPLE)"
    assert fields["iban"] == "UA213223130000026007233566001" and fields["code"] == "32855961"
    assert fields["amount"] == "UAH1234.56"
    assert fields["purpose"] == f"Оплата за послугу «Тепло та гаряча вода», о/р {HEAT}, залишок на 01.11.2026"
    uk, en = plain(talk.text("uk")), plain(talk.text("en"))
    assert "Залишок станом на 01.11.2026: 1 234,56 грн.\nДо сплати: 1 234,56 грн\n" in uk
    assert f"https://pay.example.com/heat?account={HEAT}&amount=1234.56" in uk
    assert pay.qr.link in uk and pay.qr.link in en  # the link as text, to tap on a phone
    assert "не питає й не бачить даних вашої картки" in uk
    assert "never asks for or sees your card details" in en
    assert "Balance as of 01.11.2026: UAH 1,234.56.\nTo pay: UAH 1,234.56" in en
    assert talk.button_keys == ["btn_back", "btn_menu"]
    await talk.press("btn_back")
    assert talk.keys == ["money"]


async def test_before_the_discount_day_the_qr_code_asks_for_the_discounted_amount(talk, store, clock,
                                                                                   heat_account):
    clock.now = datetime(2026, 11, 15, 21, 0, tzinfo=KYIV)  # the 15th itself, late evening in Kyiv
    await billed(store, f"heat,{HEAT},2026-11-01,1234.56,balance\n")
    await link(talk)
    await open_money(talk)
    assert "💡 Оплатіть до 15.11.2026" in plain(talk.text("uk"))
    await talk.press("btn_pay", amount=talk.last[0].buttons[0][0].label.params["amount"])
    # 1234.56 × 0.98 = 1209.8688: to the kopiyka, half up
    assert decoded(talk.last[0].qr.link)["amount"] == "UAH1209.87"
    assert ("До сплати: 1 209,87 грн — зі знижкою 2 % за оплату до 15.11.2026 (без знижки 1 234,56 грн)"
            in plain(talk.text("uk")))
    assert "with the 2% discount for paying by 15.11.2026 (UAH 1,234.56 without it)" in plain(talk.text("en"))


async def test_payments_after_the_balance_count_and_nothing_left_to_pay_offers_no_button(talk, store,
                                                                                         heat_account):
    await billed(store, f"heat,{HEAT},2026-11-01,1234.56,balance\nheat,{HEAT},2026-11-10,1234.56,payment\n")
    await link(talk)
    await open_money(talk)
    assert "btn_pay" not in talk.button_keys


async def test_part_paid_since_the_balance_the_rest_is_asked_for(talk, store, heat_account):
    await billed(store, f"heat,{HEAT},2026-11-01,1234.56,balance\nheat,{HEAT},2026-11-10,1000,payment\n")
    await link(talk)
    await open_money(talk)
    await talk.press("btn_pay", amount=talk.last[0].buttons[0][0].label.params["amount"])
    assert decoded(talk.last[0].qr.link)["amount"] == "UAH234.56"
    assert ("Залишок станом на 01.11.2026: 1 234,56 грн; після цього ви сплатили 1 000,00 грн.\n"
            "До сплати: 234,56 грн") in plain(talk.text("uk"))
    assert "Balance as of 01.11.2026: UAH 1,234.56; since then you paid UAH 1,000.00.\nTo pay: UAH 234.56" in plain(
        talk.text("en"))


async def test_overpaid_or_nothing_owed_offers_no_payment_and_no_discount(talk, store, heat_account):
    await billed(store, f"heat,{HEAT},2026-11-01,-10,balance\n")
    await link(talk)
    await open_money(talk)
    assert "btn_pay" not in talk.button_keys
    assert "💡" not in talk.text("uk")


async def test_without_a_balance_the_estimate_of_the_readings_handed_in_is_offered(talk, heat_account):
    await link(talk)
    await talk.start()
    await talk.press("btn_submit")
    await talk.say("1521")  # 0.875 Gcal × 1654.41 = 1447.60875
    await talk.say("315,4")  # 3 m³ × 97.89 = 293.67; together 1741.27875
    await talk.press("btn_confirm")
    await open_money(talk)
    assert "Постачальник ще не передав залишку" in talk.text("uk")
    await talk.press("btn_pay", amount=talk.last[0].buttons[0][0].label.params["amount"])
    assert decoded(talk.last[0].qr.link)["amount"] == "UAH1741.28"
    assert decoded(talk.last[0].qr.link)["purpose"].endswith(f"о/р {HEAT}, період 11.2026")
    assert "це орієнтовна сума за показниками періоду 11.2026: 1 741,28 грн" in plain(talk.text("uk"))
    assert "this is the estimate of your readings for 11.2026: UAH 1,741.28" in plain(talk.text("en"))


async def test_a_pay_press_for_an_account_unlinked_meanwhile_shows_nothing_of_it(talk, store, heat_account):
    await billed(store, f"heat,{HEAT},2026-11-01,1234.56,balance\n")
    await link(talk)
    await open_money(talk)
    pay = talk.last[0].buttons[0][0].payload
    store.links.clear()  # unlinked from another device
    await talk.press_payload(pay)
    assert all(reply.qr is None for reply in talk.last)
    assert "1 234,56" not in plain(talk.text("uk")) and HEAT not in talk.text("uk")


@pytest.mark.parametrize(("today", "deadline"), [
    (date(2026, 11, 14), date(2026, 11, 15)),
    (date(2026, 11, 15), date(2026, 11, 15)),
    (date(2026, 11, 16), date(2026, 12, 15)),
    (date(2026, 12, 31), date(2027, 1, 15)),
])
def test_the_next_discount_deadline_is_this_month_s_day_until_it_passes(today, deadline):
    payment = PaymentDetails("X", "UA213223130000026007233566001", "32855961", discount_by_day=15,
                             discount_percent=Decimal("2"))
    assert next_discount(payment, today) == Discount(deadline, Decimal("2"))
    assert next_discount(PaymentDetails("X", "UA213223130000026007233566001", "32855961"), today) is None


@pytest.mark.parametrize(("amount", "percent", "expected"), [
    ("1234.56", "2", "1209.87"),  # 1209.8688
    ("100.25", "2", "98.25"),  # 98.245: half up
    ("0.50", "3", "0.49"),  # 0.485: half up
])
def test_a_discount_is_rounded_once_to_the_kopiyka_half_up(amount, percent, expected):
    assert Discount(date(2026, 11, 15), Decimal(percent)).applied(Decimal(amount)) == Decimal(expected)


def _due_reminder(suppliers, today: date) -> tuple[str, str]:
    campaign = Campaign("heat", Period(2026, 11), CampaignKind.CLOSING, today, date(2026, 11, 30))
    account = DueAccount(1, HEAT, "1 Test St", "5", [MissingMeter("HT-1", "heating", "")])
    reply = reminder(campaign, suppliers["heat"], [account], today)
    return render_text(reply.text, "uk"), render_text(reply.text, "en")


def test_a_reminder_mentions_the_day_to_pay_by_for_the_discount(suppliers):
    uk, en = _due_reminder(suppliers, date(2026, 11, 27))
    assert uk.endswith("\n💡 Оплатіть рахунок до 15.12.2026 — постачальник дає знижку 2 %.")
    assert en.endswith("\n💡 Pay the bill by 15.12.2026 and the supplier takes 2% off.")
    uk, _ = _due_reminder(load_suppliers(), date(2026, 11, 27))  # the shipped file gives no discount
    assert "💡" not in uk


@pytest.mark.parametrize("strayed", ["hello", "sticker", "stale button"])
async def test_straying_on_the_pay_screen_reminds_where_the_resident_is_without_drawing_the_qr_code_again(
        talk, store, heat_account, strayed):
    from core.events import UnsupportedReceived

    await billed(store, f"heat,{HEAT},2026-11-01,1234.56,balance\n")
    await link(talk)
    await open_money(talk)
    await talk.press("btn_pay", amount=talk.last[0].buttons[0][0].label.params["amount"])
    pay_buttons = talk.button_keys
    if strayed == "sticker":
        await talk.event(UnsupportedReceived(talk.chat, "sticker"))
    elif strayed == "stale button":
        await talk.press_payload("0.pay:1")
    else:
        await talk.say(strayed)
    assert talk.keys[-1] == "pay" and talk.button_keys == pay_buttons  # the screen again, its buttons valid
    assert all(r.qr is None and r.chart is None for r in talk.last)  # the QR code is still just above
    await talk.say("/language")
    await talk.press("lang_en")  # a new language: drawn again, in it
    assert talk.last[-1].qr is not None


async def test_continue_on_the_pay_screen_draws_the_qr_code_again_for_what_is_owed_now(talk, store, heat_account):
    await billed(store, f"heat,{HEAT},2026-11-01,1234.56,balance\n")
    await link(talk)
    await open_money(talk)
    await talk.press("btn_pay", amount=talk.last[0].buttons[0][0].label.params["amount"])
    await billed(store, f"heat,{HEAT},2026-11-05,234.56,payment\n")  # paid in part meanwhile
    await talk.say("/language")
    await talk.press("btn_continue")
    [pay] = [r for r in talk.last if r.text.key == "pay"]
    assert pay.qr is not None and decoded(pay.qr.link)["amount"] == "UAH1000.00"
