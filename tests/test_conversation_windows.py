"""The conversation when a supplier's window closes or opens while the resident is in the middle of it."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime

import pytest

from core.domain import ReadingStatus, WindowRule
from core.periods import Period
from bot.dialogs.table import GLOBAL_BUTTONS, STEPS
from tests.conftest import KYIV
from tests.talk import Talk
from tests.conftest import HEAT
from tests.test_conversation import link

# supplier -> (account number, meters, a value for each meter in the order they are asked)
ACCOUNTS = {
    "heat": (HEAT, [{"serial": "HT", "service": "heating", "last": "1520", "on": date(2026, 10, 28)}], ["1525"]),
    "water": ("20000001", [{"serial": "CW", "service": "cold_water", "last": "100", "on": date(2026, 10, 28)}],
              ["105"]),
    "gas": ("3000000001", [{"serial": "G", "service": "gas", "last": "4410", "on": date(2026, 11, 1)}], ["4450"]),
    "electricity": ("40000001", [
        {"serial": "E", "service": "electricity", "zone": "night", "last": "9120", "on": date(2026, 11, 1)},
        {"serial": "E", "service": "electricity", "zone": "day", "last": "18250", "on": date(2026, 11, 1)},
    ], ["18300", "9150"]),
}


def kyiv(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KYIV)


def assert_every_button_is_accepted(talk: Talk, store) -> None:
    """Each button on the screen is one the step the resident is now on (or any step) accepts."""
    session = store.residents[talk.chat]["session"]
    for reply in talk.last:
        for row in reply.buttons:
            for button in row:
                match = re.fullmatch(r"(?:(\d+)\.)?([a-z_]+)(?::.*)?", button.payload)
                assert match is not None, button.payload
                seq, action = match.groups()
                if seq is None:
                    assert action in GLOBAL_BUTTONS, button
                else:
                    assert int(seq) == session["seq"] and action in STEPS[session["step"]].buttons, button


async def linked(talk: Talk, store, supplier: str) -> None:
    number, meters, _ = ACCOUNTS[supplier]
    store.add_account(supplier, number, payment="100", meters=meters)
    await link(talk, supplier=supplier, number=number, proof="100")


async def type_values(talk: Talk, supplier: str) -> None:
    for value in ACCOUNTS[supplier][2]:
        assert talk.keys[-1] == "meter_prompt"
        await talk.say(value)


# supplier, the summary is shown, it is confirmed, the period and opening day of the next window
WINDOW_CLOSES = [
    ("heat", kyiv(2026, 11, 30, 23, 58), kyiv(2026, 12, 1, 0, 1), "12.2026", "05.12.2026"),
    ("water", kyiv(2026, 11, 30, 23, 58), kyiv(2026, 12, 1, 0, 1), "12.2026", "10.12.2026"),
    ("gas", kyiv(2026, 12, 5, 23, 58), kyiv(2026, 12, 6, 0, 1), "12.2026", "28.12.2026"),
    ("gas", kyiv(2027, 1, 5, 23, 58), kyiv(2027, 1, 6, 0, 1), "01.2027", "28.01.2027"),
    ("electricity", kyiv(2026, 12, 3, 23, 58), kyiv(2026, 12, 4, 0, 1), "12.2026", "30.12.2026"),
]


@pytest.mark.parametrize("supplier, shown, confirmed, next_period, opens", WINDOW_CLOSES)
async def test_confirming_after_the_window_closed_says_so_and_offers_to_keep_for_the_next(
        talk, store, clock, supplier, shown, confirmed, next_period, opens):
    clock.now = shown
    await linked(talk, store, supplier)
    await talk.press("btn_submit")
    await type_values(talk, supplier)
    assert talk.keys == ["summary"]
    clock.now = confirmed
    await talk.press("btn_confirm")
    assert talk.keys == ["window_passed", "window_closed"]
    text = talk.text()
    assert f"закрився {shown.date():%d.%m.%Y}" in text and f"для періоду {next_period}" in text
    assert f"Прийом відкриється {opens}" in text
    assert store.readings == []  # nothing moved to another period unseen
    assert talk.button_keys == ["btn_keep_for_later", "btn_menu"]
    assert_every_button_is_accepted(talk, store)
    await talk.press("btn_keep_for_later")
    await type_values(talk, supplier)  # the meters again, checked against the next period
    assert talk.keys == ["summary"] and f"передам їх {opens}" in talk.text()
    await talk.press("btn_confirm")
    assert talk.keys == ["receipt_pending", "menu"]
    assert {(str(r.period), r.status) for r in store.readings} == {
        (f"{next_period[3:]}-{next_period[:2]}", ReadingStatus.PENDING)}


async def test_a_value_typed_after_the_window_closed_is_not_taken_for_the_closed_period(talk, store, clock):
    store.add_account("heat", HEAT, payment="100", meters=[
        {"serial": "HT", "service": "heating", "last": "1520", "on": date(2026, 10, 28)},
        {"serial": "HW", "service": "hot_water", "last": "300", "on": date(2026, 10, 28)}])
    clock.now = kyiv(2026, 11, 30, 23, 59)
    await link(talk, proof="100")
    await talk.press("btn_submit")
    await talk.say("1525")
    clock.now = kyiv(2026, 12, 1, 0, 1)
    await talk.say("305")
    assert talk.keys == ["window_passed", "window_closed"]
    assert_every_button_is_accepted(talk, store)
    await talk.press("btn_keep_for_later")
    assert talk.keys == ["meter_prompt"] and "1 з 2" in talk.text()


async def test_when_the_next_window_is_already_open_the_meters_are_asked_again_for_it(
        talk, store, clock, suppliers):
    suppliers["heat"] = replace(suppliers["heat"], window=WindowRule(opens_day=1, closes_day=-1))
    clock.now = kyiv(2026, 11, 30, 23, 58)
    await linked(talk, store, "heat")
    await talk.press("btn_submit")
    await type_values(talk, "heat")
    clock.now = kyiv(2026, 12, 1, 0, 1)
    await talk.press("btn_confirm")
    assert talk.keys == ["window_passed", "meter_prompt"]
    assert "для періоду 12.2026" in talk.text()
    assert_every_button_is_accepted(talk, store)
    await type_values(talk, "heat")
    assert "передам" not in talk.text()
    await talk.press("btn_confirm")
    assert talk.keys == ["receipt", "menu"]
    assert [(r.period, r.status) for r in store.readings] == [(Period(2026, 12), ReadingStatus.ACCEPTED)]


async def test_the_values_are_checked_again_against_the_next_periods_previous_reading(talk, store, clock):
    await linked(talk, store, "heat")  # 20 November: heat is open
    await talk.press("btn_submit")
    await talk.say("1525")
    await talk.press("btn_confirm")
    clock.now = kyiv(2026, 11, 30, 23, 58)
    await talk.press("btn_submit")
    await talk.say("1524,5")  # a correction of November's 1525, typed as its window ends
    assert "замінять передані вами 20.11.2026" in talk.text()
    clock.now = kyiv(2026, 12, 1, 0, 1)
    await talk.press("btn_confirm")
    assert talk.keys == ["window_passed", "window_closed"]
    await talk.press("btn_keep_for_later")
    assert "Попередній показник: 1525 Гкал" in talk.text()  # November's, handed in: December counts from it
    await talk.say("1524,5")
    assert talk.keys == ["lower_than_previous"]
    assert [(r.value, r.status) for r in store.readings] == [(1525, ReadingStatus.ACCEPTED)]


async def test_kept_readings_confirmed_once_their_window_has_opened_are_accepted_at_once(talk, store, clock):
    clock.now = kyiv(2026, 11, 27, 23, 58)
    await linked(talk, store, "gas")
    await talk.press("btn_submit")
    assert talk.keys == ["window_closed"]
    await talk.press("btn_keep_for_later")
    await type_values(talk, "gas")
    assert "передам їх 28.11.2026" in talk.text()
    clock.now = kyiv(2026, 11, 28, 0, 1)
    await talk.press("btn_fix")
    await talk.press("btn_back")
    assert talk.keys == ["summary"] and "передам" not in talk.text()  # not kept any more: it is open
    await talk.press("btn_confirm")
    assert talk.keys == ["receipt", "menu"]
    assert [(r.period, r.status) for r in store.readings] == [(Period(2026, 11), ReadingStatus.ACCEPTED)]


@pytest.mark.parametrize("press", ["btn_keep_for_later", "btn_confirm"])
async def test_a_resident_back_after_the_kept_window_came_and_went_starts_again(talk, store, clock, press):
    await linked(talk, store, "gas")  # 20 November: gas opens on the 28th
    await talk.press("btn_submit")
    if press == "btn_confirm":
        await talk.press("btn_keep_for_later")
        await type_values(talk, "gas")
    clock.now = kyiv(2026, 12, 6, 10)
    await talk.press(press)
    assert talk.keys == ["window_passed", "window_closed"]
    assert "за 11.2026 закрився 05.12.2026" in talk.text() and "Прийом відкриється 28.12.2026" in talk.text()
    assert store.readings == []
    assert_every_button_is_accepted(talk, store)
