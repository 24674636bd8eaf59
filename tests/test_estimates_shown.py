"""What a resident reads of the estimate: in the summary before confirming, on the receipt, in history.

Amounts are worked out by hand here. Heat in 11.2026: heating 0.875 Gcal × 1654.41 = 1447.60875, hot water
3 m³ × 97.89 = 293.67; together 1741.27875 -> 1741.28, of which heating's share is 1447.61 (it takes the
kopiyka left over by the floors 1447.60 + 293.67 = 1741.27).
"""

from __future__ import annotations

from datetime import date

from tests.talk import Talk
from tests.test_conversation import link

NBSP = "\u00a0"  # money never wraps: its spaces are no-break ones


def said(talk, language: str) -> str:
    return talk.text(language).replace(NBSP, " ")


async def hand_in_heat(talk: Talk) -> None:
    await link(talk)
    await talk.start()
    await talk.press("btn_submit")
    await talk.say("1521")  # heating: 1520.125 -> 1521.000, 0.875 Gcal
    await talk.say("315,4")  # hot water: 312.4 -> 315.4, 3 m³


async def test_the_summary_shows_each_meters_estimate_and_the_total_in_both_languages(talk, heat_account):
    await hand_in_heat(talk)
    assert talk.keys[-1] == "summary"
    uk, en = said(talk, "uk"), said(talk, "en")
    assert ("• Опалення №HT-1: 1520,125 → 1521 Гкал, споживання 0,875 Гкал\n  орієнтовно 1 447,61 грн\n"
            "• Гаряча вода №HW-1: 312,4 → 315,4 м³, споживання 3 м³\n  орієнтовно 293,67 грн\n"
            "💰 Разом орієнтовно: 1 741,28 грн\n"
            "(Орієнтовна сума за тарифами постачальника; точну покаже рахунок.)") in uk
    assert ("• Heating No. HT-1: 1520.125 → 1521 Gcal, consumption 0.875 Gcal\n  estimate UAH 1,447.61\n"
            "• Hot water No. HW-1: 312.4 → 315.4 m³, consumption 3 m³\n  estimate UAH 293.67\n"
            "💰 Estimated total: UAH 1,741.28\n"
            "(An estimate from the supplier's tariffs; the bill gives the exact amount.)") in en


async def test_the_receipt_shows_the_same_estimate_after_confirming(talk, heat_account):
    await hand_in_heat(talk)
    await talk.press("btn_confirm")
    receipt = talk.reply("receipt")
    assert [line.key for line in receipt.text.params["lines"]] == [
        "receipt_value", "estimate_meter", "receipt_value", "estimate_meter", "estimate"]
    uk, en = said(talk, "uk"), said(talk, "en")
    assert "• Опалення №HT-1: 1521 Гкал\n  орієнтовно 1 447,61 грн" in uk
    assert "💰 Разом орієнтовно: 1 741,28 грн" in uk and "Номер квитанції: KM-2611-" in uk
    assert "• Heating No. HT-1: 1521 Gcal\n  estimate UAH 1,447.61" in en
    assert "💰 Estimated total: UAH 1,741.28" in en


async def test_history_shows_the_estimated_amount_per_period(talk, heat_account):
    await hand_in_heat(talk)
    await talk.press("btn_confirm")
    await talk.start()
    await talk.press("btn_history")
    assert "💰 Орієнтовна вартість за періодами:\n  11.2026: орієнтовно 1 741,28 грн" in said(talk, "uk")
    assert "💰 Estimated cost per period:\n  11.2026: estimate UAH 1,741.28" in said(talk, "en")


async def test_water_adds_its_monthly_fees_to_the_kopiyka(talk, store):
    store.add_account("water", "20000001", payment="150.00", meters=[
        {"serial": "W-1", "service": "cold_water", "last": "100", "on": date(2026, 10, 28)}])
    await link(talk, "water", "20000001", "150.00")
    await talk.start()
    await talk.press("btn_submit")
    await talk.say("107,25")  # 7.25 m³ × (16.164 + 14.22) = 220.284, fees 22.31 + 16.88: 259.474 -> 259.47
    uk, en = said(talk, "uk"), said(talk, "en")
    assert ("  орієнтовно 220,28 грн\n+ Абонплата за водопостачання: 22,31 грн\n"
            "+ Абонплата за водовідведення: 16,88 грн\n💰 Разом орієнтовно: 259,47 грн") in uk
    assert ("  estimate UAH 220.28\n+ Water supply subscription fee: UAH 22.31\n"
            "+ Sewage subscription fee: UAH 16.88\n💰 Estimated total: UAH 259.47") in en


async def test_gas_after_its_fixed_price_ends_says_the_price_is_not_known(talk, store):
    store.add_account("gas", "3000000001", payment="300.00", meters=[
        {"serial": "G-1", "service": "gas", "last": "500", "on": date(2026, 10, 1)}])
    await link(talk, "gas", "3000000001", "300.00")
    await talk.start()
    await talk.press("btn_submit")
    await talk.press("btn_keep_for_later")  # gas takes readings for 11.2026 from the 28th
    await talk.say("540")
    uk, en = said(talk, "uk"), said(talk, "en")
    assert "• Газ №G-1: 500 → 540 м³, споживання 40 м³\n  орієнтовно: ціна за цей період невідома" in uk
    assert ("  орієнтовно: ціна за цей період невідома\n"
            "💰 Орієнтовну вартість не пораховано — причину вказано біля лічильника.") in uk
    assert "Орієнтовна сума за тарифами" not in uk  # no sum to explain
    assert "  estimate: price not known for that period" in en
    assert "💰 No estimate: the reason is under each meter." in en
    assert "грн" not in uk and "UAH" not in en  # no amount is made up


async def test_a_supplier_without_prices_shows_no_estimate(store, clock, suppliers, heat_account):
    from dataclasses import replace

    from core.service import ConversationService
    from bot.dialogs.table import CONVERSATION
    from tests.conftest import KYIV
    from tests.fakes import FakeUnitOfWork

    bare = {**suppliers, "heat": replace(suppliers["heat"], tariffs=(), fees=())}
    talk = Talk(ConversationService(lambda: FakeUnitOfWork(store), CONVERSATION, bare, clock, KYIV))
    await hand_in_heat(talk)
    assert "орієнтовно" not in said(talk, "uk") and "estimate" not in said(talk, "en")
