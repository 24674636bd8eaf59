"""Every text key, rendered in both languages with sample parameters: what a resident would read.

That both languages have the same keys is test_texts.py's test; here every key of either renders.
"""

from __future__ import annotations

import re
import string
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from core.domain import WindowRule
from core.events import Text, t
from core.money import Money
from core.periods import Period
from core.service import ConversationService
from bot.dialogs.render import TEXTS, render_text
from bot.dialogs.table import CONVERSATION
from tests.conftest import KYIV
from tests.fakes import FakeUnitOfWork
from tests.talk import Talk
from tests.test_conversation import link

HEAT_NAMES = {"uk": "Тепло та гаряча вода", "en": "Heat and hot water"}  # supplier names come per language
CONTACTS = {"uk": "Кол-центр: 1551", "en": "Call centre: 1551"}
ADDRESS = "Київ, вул. Хрещатик, 1, кв. 5"  # names and addresses stay as the register spells them
STREET = "вул. Хрещатик, 1"
# the purpose of payment is the supplier's accountants' text, Ukrainian whatever the resident reads
PURPOSE = "Оплата за послугу «Тепло та гаряча вода», о/р 100000000000001, залишок на 01.11.2026"
ACCOUNT = t("account_label", supplier=HEAT_NAMES, number="•••0001")
METER = t("meter_label", service=t("service_electricity"), zone_part=t("zone_part", zone=t("zone_day")), serial="E-1")

# parameter name -> sample values; a key is rendered once per value of its longest list
SAMPLES: dict[str, list[object]] = {
    "supplier": [HEAT_NAMES],
    "name": [HEAT_NAMES],
    "contacts": [CONTACTS],
    "account": [ACCOUNT],
    "address": [ADDRESS],
    "street": [STREET],
    "apartment": ["5"],
    "place": [t("place_street_apartment", street=STREET, apartment="5"), t("place_apartment", apartment="5"),
              t("place_street", street=STREET)],
    "status": ["", t("menu_status", lines=[t("status_due", account=ACCOUNT, done=1, total=3, period=Period(2026, 11),
                                                     closes=date(2026, 11, 30))])],
    "done": [1],
    "first": [t("receipt_status_accepted")],
    "rest": [t("receipt_status_replaced")],
    "receipts": [[t("history_empty")]],
    "left": [1, 2, 3],
    "at": [datetime(2026, 11, 20, 12, 0, tzinfo=KYIV)],
    "by": [t("by_you"), t("by_household")],
    "installed": [date(2026, 11, 14)],
    "new_meter": [t("new_meter_details", serial="N-2", installed=date(2026, 11, 14))],
    "label": ["HT-0001"],
    "path": ["/tmp/komunalka-charts/history-1.png"],
    "photo_note": [t("unusual_photo_invited"), t("unusual_photo_attached")],
    "link": ["https://qr.bank.gov.ua/QkNECjAwMgoxClVDVAoK"],
    "number": ["•••0001"],
    "meter": [METER, t("meter_label", service=t("service_heating"), zone_part="", serial="HT-1")],
    "meters": [[METER]],
    "accounts": [[t("reminder_account", account=ACCOUNT, place=t("place_apartment", apartment="5"), meters=[METER])]],
    "lines": [[t("summary_line_typed", meter=METER, previous=Decimal("1520.1"), value=Decimal("1525.5"),
                 unit=t("unit_kwh"), consumption=Decimal("5.4"))],
              [t("summary_line_typed", meter=METER, previous=Decimal("1520.1"), value=Decimal("1525.5"),
                 unit=t("unit_kwh"), consumption=Decimal("5.4")),
               t("estimate_meter", amount=Money(Decimal("23.33"))),
               t("estimate", lines=[t("estimate_fee", name=HEAT_NAMES, amount=Money(Decimal("22.31"))),
                                    t("estimate_total", amount=Money(Decimal("45.64"))),
                                    t("estimate_left_out_no_price", meter=METER)])]],
    "notes": [[], [t("summary_replaces", on=date(2026, 11, 3))]],
    "estimates": ["", t("history_estimates", lines=[t("history_estimate", period=Period(2026, 11),
                                                      amount=Money(Decimal("191.11")))])],
    "suppliers": [[t("help_supplier", name=HEAT_NAMES, rule=t("rule_same_month", opens=t("day_n", n=5),
                                                             closes=t("day_last")),
                     state=t("help_window_open", closes=date(2026, 11, 30)), contacts=CONTACTS)]],
    "state": [t("help_window_closed", opens=date(2026, 12, 5))],
    "rule": [t("rule_next_month", opens=t("day_from_end", n=7), closes=t("day_n", n=1))],
    "unit": [t("unit_gcal"), t("unit_m3"), t("unit_kwh")],
    "service": [t("service_hot_water")],
    "zone": [t("zone_night")],
    "zone_part": [t("zone_part", zone=t("zone_day")), ""],
    "serial": ["HW-1001"],
    "example": [Decimal("1234.5"), Decimal("1234"), "100000000000001", date(2026, 11, 14)],
    "value": [Decimal("1525.5")],
    "whole": ["01523", "012345"],  # a value as the meter's drums show it (bot/dialogs/meter_photos.py)
    "fraction": ["500", ""],
    "previous": [Decimal("1520.125")],
    "consumption": [Decimal("5.375")],
    "usual": [Decimal("1.5")],
    "digits": [1, 2, 5, 11, 21, 22],
    "decimals": [1, 2, 3, 0, 5],
    "days": [1, 2, 3, 5, 11, 14, 21, 24],
    "n": [1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31],
    "step": [1],
    "total": [3],
    "count": [3],
    "reference": ["KM-2611-7F3K9Q"],
    "replaced": [0, 2],
    "rollover": [True, False],
    "period": [Period(2026, 11)],
    "next": [Period(2026, 12)],
    "opens": [date(2026, 12, 5), t("day_n", n=28), t("day_penultimate"), t("day_from_end", n=7)],
    "closes": [date(2026, 11, 30), t("day_n", n=3), t("day_last")],
    "deadline": [date(2026, 11, 30)],
    # paying
    "discount": ["", t("reminder_discount", deadline=date(2026, 12, 15), percent=Decimal("2")),
                 t("pay_discount", percent=Decimal("2.5"), deadline=date(2026, 12, 15), full=Money(Decimal("1000")))],
    "percent": [Decimal("2"), Decimal("2.5")],
    "pay": ["", t("money_discount", deadline=date(2026, 12, 15), percent=Decimal("2")), t("money_pay_elsewhere"),
            t("money_discount_next", deadline=date(2026, 12, 15), percent=Decimal("2"))],
    "paid": [Money(Decimal("2469.12")), "", t("pay_paid_since", paid=Money(Decimal("1000")))],
    "what": [t("pay_what_balance", on=date(2026, 11, 1), amount=Money(Decimal("1234.56")), paid=""),
             t("pay_what_estimate", period=Period(2026, 11), amount=Money(Decimal("45.64")))],
    "recipient": ["KP Kyivteploenergo"],
    "iban": ["UA213223130000026007233566001"],
    "edrpou": ["32855961"],
    "purpose": [PURPOSE],
    "page": ["", t("pay_page", url="https://pay.example.com/heat?account=1&amount=2.00")],
    "url": ["https://pay.example.com/heat?account=1&amount=2.00"],
    "full": [Money(Decimal("1000"))],
    "due": [date(2026, 12, 1)],
    "on": [date(2026, 10, 28)],
    "until": [datetime(2026, 11, 21, 12, 0, tzinfo=KYIV)],
    "then": [t("kept_expired_open_now", period=Period(2026, 12), closes=date(2026, 12, 31))],
    # bills and payments
    "amount": [Money(Decimal("1234.56")), Money(Decimal("0.5"))],
    "charged": [Money(Decimal("1234.56"))],
    "since": [date(2025, 11, 21)],
    "balance": [t("money_owes", on=date(2026, 11, 1), amount=Money(Decimal("1234.56"))), t("money_no_balance"),
                t("money_overpaid", on=date(2026, 11, 1), amount=Money(Decimal("101.4"))),
                t("money_nothing_owed", on=date(2026, 11, 1))],
    "paid_after": ["", t("money_paid_after", on=date(2026, 11, 1), paid=Money(Decimal("1234.56")),
                         lines=[t("money_line_payment", on=date(2026, 11, 10), amount=Money(Decimal("1234.56")))])],
    "movements": [t("money_year_empty", since=date(2025, 11, 21)),
                  t("money_year", since=date(2025, 11, 21), paid=Money(Decimal("1")), charged=Money(Decimal("2")),
                    lines=[t("money_line_charge", on=date(2026, 11, 1), amount=Money(Decimal("2")))])],
}
# Cyrillic an English text may hold: the samples' names and addresses, and the language switch, which
# names Ukrainian in Ukrainian so that a resident who reads only that finds it
CYRILLIC_ALLOWED = (ADDRESS, STREET, PURPOSE, "Оберіть мову", "Мова", "Українська")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
UNFORMATTED = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def placeholders(template: object) -> set[str]:
    if callable(template):
        return set()
    return {field for _, field, _, _ in string.Formatter().parse(str(template)) if field}


def renderings(key: str, language: str) -> list[str]:
    """The key rendered with every sample (a callable may read any parameter, so it gets them all)."""
    runs = max(len(values) for values in SAMPLES.values())
    texts = []
    for index in range(runs):
        params = {name: values[index % len(values)] for name, values in SAMPLES.items()}
        texts.append(render_text(Text(key, params), language))
    return sorted(set(texts))


@pytest.mark.parametrize("language", ["uk", "en"])
def test_every_placeholder_has_a_sample(language):
    missing = {(key, name) for key, template in TEXTS[language].items() for name in placeholders(template)
               if name not in SAMPLES}
    assert missing == set(), "add a sample value to SAMPLES for each of these"


@pytest.mark.parametrize(("key", "language"), [(k, lang) for lang in ("uk", "en") for k in sorted(TEXTS[lang])])
def test_every_text_renders_with_nothing_left_unformatted(key, language):
    for text in renderings(key, language):
        assert text.strip(), key
        assert not UNFORMATTED.search(text), text


@pytest.mark.parametrize("key", sorted(TEXTS["en"]))
def test_english_texts_hold_no_cyrillic_beyond_names_and_addresses(key):
    for text in renderings(key, "en"):
        stripped = text
        for allowed in CYRILLIC_ALLOWED:
            stripped = stripped.replace(allowed, "")
        assert not CYRILLIC.search(stripped), text


@pytest.mark.parametrize(("n", "expected"), [
    (1, "the 1st"), (2, "the 2nd"), (3, "the 3rd"), (4, "the 4th"), (11, "the 11th"), (12, "the 12th"),
    (13, "the 13th"), (21, "the 21st"), (22, "the 22nd"), (23, "the 23rd"), (31, "the 31st"),
])
def test_english_day_ordinals(n, expected):
    assert render_text(t("day_n", n=n), "en") == expected


@pytest.mark.parametrize(("decimals", "uk", "en"), [
    (1, "1 знак після коми", "1 digit after the point"),
    (2, "2 знаки після коми", "2 digits after the point"),
    (4, "4 знаки після коми", "4 digits after the point"),
    (5, "5 знаків після коми", "5 digits after the point"),
    (11, "11 знаків після коми", "11 digits after the point"),
    (12, "12 знаків після коми", "12 digits after the point"),
    (21, "21 знак після коми", "21 digits after the point"),
    (22, "22 знаки після коми", "22 digits after the point"),
], ids=lambda value: str(value) if isinstance(value, int) else "")
def test_counts_take_the_plural_form_each_language_needs(decimals, uk, en):
    text = t("parse_too_many_decimals", decimals=decimals, digits=5, example=Decimal("1234.5"))
    assert uk in render_text(text, "uk")
    assert en in render_text(text, "en")


@pytest.mark.parametrize(("days", "uk", "en"), [
    (1, "— 1 день (", "1 day left"), (3, "— 3 дні (", "3 days left"), (5, "— 5 днів (", "5 days left"),
    (11, "— 11 днів (", "11 days left"), (21, "— 21 день (", "21 days left"),
], ids=lambda value: str(value) if isinstance(value, int) else "")
def test_days_left_in_a_reminder_take_the_plural_form(days, uk, en):
    text = t("reminder_closing", supplier=HEAT_NAMES, period=Period(2026, 11), deadline=date(2026, 11, 30),
             accounts=[], days=days, discount="")
    assert uk in render_text(text, "uk")
    assert en in render_text(text, "en")


def test_a_zone_is_set_apart_from_the_service_in_a_meter_name():
    assert render_text(METER, "en") == "Electricity (day) No. E-1"
    assert render_text(METER, "uk") == "Електроенергія (день) №E-1"


@pytest.mark.parametrize(("opens", "closes", "crosses", "uk", "en"), [
    (5, -1, False, "з 5-го числа до останнього дня місяця включно", "from the 5th to the last day of the month"),
    (28, 5, True, "з 28-го числа місяця до 5-го числа наступного місяця включно",
     "from the 28th of the month to the 5th of the next month"),
    (-2, 3, True, "з передостаннього дня місяця до 3-го числа наступного місяця включно",
     "from the second-to-last day of the month to the 3rd of the next month"),
    (-7, 1, True, "з 7-го дня з кінця місяця до 1-го числа наступного місяця включно",
     "from the 7th day from the end of the month to the 1st of the next month"),
    (1, -7, False, "з 1-го числа до 7-го дня з кінця місяця включно",
     "from the 1st to the 7th day from the end of the month"),
], ids=["to-last", "next-month", "second-to-last", "7th-from-end", "to-7th-from-end"])
async def test_help_states_each_window_rule_as_a_resident_reads_a_calendar(store, clock, suppliers, opens, closes,
                                                                          crosses, uk, en):
    heat = replace(suppliers["heat"], window=WindowRule(opens, closes, crosses))
    talk = Talk(ConversationService(lambda: FakeUnitOfWork(store), CONVERSATION, {"heat": heat}, clock, KYIV))
    await talk.start()
    await talk.say("/help")
    assert uk in talk.text("uk")
    assert en in talk.text("en")


async def test_a_meter_prompt_writes_its_example_as_the_language_writes_values(talk, store):
    store.add_account("heat", "100000000000001", payment="1234.56", meters=[
        {"serial": "HT-1", "service": "heating", "last": "1520.125", "on": date(2026, 10, 28)}])
    await link(talk)
    await talk.start()
    await talk.press("btn_submit")
    assert "1520,125" in talk.text("uk") and "наприклад: 1234,5" in talk.text("uk")
    assert "1520.125" in talk.text("en") and "for example: 1234.5" in talk.text("en")
    await talk.say("12,34567")
    assert "3 знаки після коми. Введіть, наприклад: 1234,5" in talk.text("uk")
    assert "3 digits after the point. Type, for example: 1234.5" in talk.text("en")
