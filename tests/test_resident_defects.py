"""Defects found by trying the bot as a resident would: each test failed before its fix."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from core.domain import Reading, ReadingKind, ReadingStatus
from core.events import decode_replies
from core.periods import Period
from core.ports import DueAccount, MissingMeter
from core.reminders import Campaign, CampaignKind
from bot.dialogs.common import place_of
from bot.dialogs.notices import reminder
from bot.dialogs.render import render, render_text
from tests.talk import Talk
from tests.conftest import HEAT
from tests.test_conversation import link, submit_start


@pytest.fixture
def heat_account(store):
    return store.add_account("heat", HEAT, payment="1234.56", meters=[
        {"serial": "HT-1", "service": "heating", "last": "1500", "on": date(2026, 10, 20)},
        {"serial": "HW-1", "service": "hot_water", "last": "312.4", "on": date(2026, 10, 20)},
    ])


# 1. times in the city's zone, whatever zone storage gives back

async def test_the_lock_time_is_kyiv_time_the_first_time_and_every_later_time(service, heat_account):
    for n in range(5):
        attacker = Talk(service, "telegram", f"a{n}")
        await link(attacker, proof="1.00")
    assert attacker.keys[0] == "link_locked"
    assert "21.11.2026 12:00" in attacker.text()  # 20.11 12:00 Kyiv + 24 h
    later = Talk(service, "telegram", "later")
    await link(later, number="", proof=HEAT)
    assert later.keys[0] == "link_locked"
    assert "21.11.2026 12:00" in later.text()  # read back from storage, in UTC: still Kyiv time


async def test_the_previous_reading_date_is_the_day_in_kyiv(talk, store, heat_account):
    heating = heat_account.meters[0]
    late_evening = datetime(2026, 10, 27, 23, 30, tzinfo=timezone.utc)  # 28.10 01:30 in Kyiv
    store.readings.append(Reading(heating.id, Period(2026, 10), Decimal("1510"), Decimal("1500"), Decimal("10"),
                                  ReadingKind.TYPED, ReadingStatus.ACCEPTED, late_evening, "telegram",
                                  "KM-2610-AAAAAA", late_evening))
    await link(talk)
    await submit_start(talk)
    assert "1510" in talk.text() and "28.10.2026" in talk.text()


# 7. a lockout with a way out

async def test_tries_left_are_said_from_the_second_wrong_proof_and_the_lock_gives_the_contacts(talk, heat_account):
    await link(talk, proof="1.00")
    assert talk.keys == ["link_failed", "link_type_payment"]
    await talk.say("2.00")
    assert talk.keys == ["link_failed", "link_tries_left", "link_type_payment"]
    assert "Залишилося спроб: 3" in talk.text()
    await talk.say("3.00")
    await talk.say("4.00")
    assert "1 try left" in talk.text("en")
    await talk.say("5.00")
    assert talk.keys == ["link_locked", "menu"]
    assert "1557" in talk.text() and "1557" in talk.text("en")  # the heat company's call centre


# 3. accounts that look alike

async def test_two_accounts_ending_alike_are_told_apart_wherever_the_resident_chooses(talk, store, heat_account):
    twin = store.add_account("heat", "200000000000001", payment="99.00", apartment="7", meters=[
        {"serial": "HT-2", "service": "heating", "last": "10", "on": date(2026, 10, 20)}])
    store.accounts[twin.id] = twin = replace(twin, address="Kyiv, 3 Lesi Ukrainky Blvd")
    await link(talk)
    await link(talk, number=twin.number, proof="99.00")
    await talk.start()
    for screen in ("btn_submit", "btn_history", "btn_accounts"):
        await talk.start()
        await talk.press(screen)
        labels = [b.label for r in talk.last for row in r.buttons for b in row
                  if b.label.key in ("account_button", "btn_unlink")]
        shown = [render_text(label, "uk") for label in labels]
        assert len(shown) == 2 and len(set(shown)) == 2, shown
        assert any("кв. 7" in s for s in shown) and any("кв. 5" in s for s in shown)
    english = [render_text(b.label, "en") for r in talk.last for row in r.buttons for b in row]
    assert any("3 Lesi Ukrainky Blvd, apt 7" in s for s in english)


def test_a_reminder_tells_apart_accounts_ending_alike(suppliers):
    campaign = Campaign("heat", Period(2026, 11), CampaignKind.CLOSING, date(2026, 11, 20), date(2026, 11, 25))
    accounts = [DueAccount(1, "100000000000001", "Kyiv, 12 Khreshchatyk St", "15",
                           [MissingMeter("HT-1", "heating", "")]),
                DueAccount(2, "200000000000001", "Kyiv, 3 Lesi Ukrainky Blvd", "7",
                           [MissingMeter("HT-2", "heating", "")])]
    rendered = render(reminder(campaign, suppliers["heat"], accounts, date(2026, 11, 20)), "uk")
    assert "12 Khreshchatyk St, кв. 15" in rendered.text and "3 Lesi Ukrainky Blvd, кв. 7" in rendered.text
    *accounts_rows, last = rendered.buttons
    labels = [b.label for row in accounts_rows for b in row]
    assert len(set(labels)) == 2 and all("кв." in label for label in labels)
    assert [b.label for b in last] == ["↩ Продовжити"]  # in Viber, a reminder's buttons take the screen's place


def test_a_long_street_is_shortened_and_the_city_left_out():
    shown = render_text(place_of("Kyiv, 145 Prospekt Akademika Hlushkova, bldg 2", "301"), "en")
    assert shown.startswith("145 Prospekt") and shown.endswith("…, apt 301") and "Kyiv" not in shown


# 4. units checked

async def test_a_unit_that_is_not_the_meters_is_refused_saying_which_unit_it_counts_in(talk, heat_account, store):
    await link(talk)
    await submit_start(talk)
    await talk.say("1525 кВт")
    assert talk.keys == ["parse_wrong_unit"]
    assert "Гкал" in talk.text() and "Gcal" in talk.text("en")
    assert talk.button_keys == ["btn_unchanged", "btn_cancel"]
    await talk.say("1525 Гкал")
    assert "312,4" in talk.text()  # on to the hot water meter


# 5. "unchanged" while replacing this period's reading

async def test_unchanged_while_replacing_keeps_the_value_just_handed_in(talk, heat_account, store):
    await link(talk)
    await submit_start(talk)
    await talk.say("1525")
    await talk.press("btn_unchanged")
    await talk.press("btn_confirm")
    await submit_start(talk)
    assert "уже передано: 1525 Гкал" in talk.text() and "вами" in talk.text()
    await talk.press("btn_unchanged")
    await talk.press("btn_unchanged")
    assert "1525" in talk.text() and "1500 Гкал (без змін)" not in talk.text()
    await talk.press("btn_confirm")
    accepted = {r.meter_id: r for r in store.readings if r.status is ReadingStatus.ACCEPTED}
    heating = accepted[heat_account.meters[0].id]
    assert (heating.value, heating.consumption) == (Decimal("1525"), Decimal("25"))


# 6. shared accounts

async def test_a_household_member_sees_what_was_handed_in_and_the_first_is_told_when_it_is_replaced(
        service, store, heat_account, clock):
    first, second = Talk(service, "telegram", "100"), Talk(service, "viber", "200")
    await link(first)
    await link(second)
    await submit_start(first)
    await first.say("1525")
    await first.press("btn_unchanged")
    await first.press("btn_confirm")
    clock.advance(hours=3)
    await submit_start(second)
    assert second.keys == ["meter_handed_in", "meter_prompt"]
    assert "уже передано: 1525 Гкал (20.11.2026 12:00, іншим членом домогосподарства)" in second.text()
    await second.say("1530")
    await second.press("btn_unchanged")
    summary = second.text()
    assert "передані вами" not in summary
    assert "іншим членом домогосподарства 20.11.2026" in summary and "1525 Гкал" in summary
    assert "another member of the household" in second.text("en")
    await second.press("btn_confirm")
    told = [e for e in store.outbox.values() if e.chat == first.chat]
    assert len(told) == 1
    notice = decode_replies(told[0].body)[0]
    assert notice.text.key == "readings_replaced_by_household"
    assert notice.text.params["reference"] == second.reply("receipt").text.params["reference"]
    assert not [e for e in store.outbox.values() if e.chat == second.chat]  # the console-style talk has no outbox


# 8. a first message that is a command

@pytest.mark.parametrize("command, then", [
    ("/help", "help"), ("/language", "choose_language"), ("мова", "choose_language"),
    ("/menu", None), ("/start", None), ("/cancel", None),
])
async def test_a_first_command_gets_the_greeting_and_the_notice_and_is_then_done(talk, command, then):
    await talk.say(command)
    assert talk.keys[:3] == ["welcome", "privacy_notice", "menu"]
    assert talk.keys[3:] == ([then] if then else [])


# capability 3: a replaced meter

async def test_a_replaced_meter_asks_serial_date_first_value_and_act_and_carries_them(talk, heat_account, store):
    await link(talk)
    await submit_start(talk)
    await talk.say("14")
    await talk.press("btn_meter_replaced")
    await talk.say("bad\u0000serial")
    assert talk.keys == ["new_meter_serial_bad"]
    await talk.say("NM 2026-7")
    await talk.say("31.12.2026")
    assert talk.keys == ["new_meter_date_bad"]  # not in the future
    await talk.say("5.11")
    await talk.say("20")
    assert talk.keys == ["new_meter_start_bad"]  # above the value typed
    await talk.say("2")
    await talk.photo("act-photo-id")
    assert talk.keys[0] == "photo_attached"
    await talk.press("btn_unchanged")
    assert "14 Гкал (новий лічильник №NM 2026-7, встановлено 05.11.2026)" in talk.text()
    await talk.press("btn_confirm")
    heating = next(r for r in store.submissions[0].readings if r.meter_id == heat_account.meters[0].id)
    assert (heating.kind, heating.new_serial, heating.new_installed, heating.new_start, heating.consumption,
            heating.evidence) == (ReadingKind.REPLACED, "NM 2026-7", date(2026, 11, 5), Decimal("2"), Decimal("12"),
                                  "act-photo-id")


# capability 2: an overview on the main menu

async def test_the_menu_shows_per_account_what_is_due_by_when_and_what_is_handed_in(talk, store, heat_account):
    store.add_account("gas", "3000000001", payment="1", meters=[
        {"serial": "G", "service": "gas", "last": "10", "on": date(2026, 11, 1)}])
    await link(talk)
    await link(talk, supplier="gas", number="3000000001", proof="1")
    menu = talk.text()
    assert "за 11.2026 передано 0 з 2, прийом до 30.11.2026" in menu  # heat: open now
    assert "Газ •••0001 · 1 Test St, кв. 5: прийом за 11.2026 — з 28.11.2026 до 05.12.2026" in menu  # gas: later
    await talk.start()
    await talk.press("btn_submit")
    await talk.press("account_button")
    await talk.say("1525")
    await talk.press("btn_unchanged")
    await talk.press("btn_confirm")
    status = talk.text().split("Головне меню")[0]
    assert "✅" in status and "за 11.2026 передано" in status
    assert "Handed in for 11.2026" in talk.text("en") or "handed in for 11.2026" in talk.text("en")


async def test_a_resident_without_accounts_sees_the_plain_menu(talk):
    await talk.start()
    assert talk.text().endswith("Головне меню. Що робимо?") and "Стан" not in talk.text()


# capability 4: submission without linking

async def test_readings_can_be_handed_in_once_without_linking_under_the_same_proof_and_lockout(talk, store,
                                                                                               heat_account):
    await talk.start()
    await talk.press("btn_submit")
    await talk.press("btn_submit_once")
    assert talk.keys == ["once_choose_supplier"]
    await talk.press("supplier_button", name=talk.service._suppliers["heat"].names)
    await talk.say(HEAT)
    await talk.say("1.00")
    assert talk.keys == ["link_failed", "link_type_payment"]
    assert len(store.failures) == 1  # counted towards the same lockout as linking
    await talk.say("1234.56")
    assert talk.keys == ["meter_prompt"]
    await talk.say("1525")
    await talk.press("btn_unchanged")
    await talk.press("btn_confirm")
    assert talk.keys == ["receipt", "receipt_not_linked", "menu"]
    assert store.links == []
    assert [s.account_id for s in store.submissions] == [heat_account.id]
    await talk.press("btn_history")
    assert talk.keys == ["no_accounts"]  # nothing of that account is shown later
