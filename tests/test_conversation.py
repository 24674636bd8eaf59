"""The conversation through the seam, with in-memory storage: what a resident sees at each step."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from decimal import Decimal

import pytest

from core.domain import ReadingKind, ReadingStatus
from core.events import Answer, ButtonPressed, Reply, Started, decode_answer, encode_replies, t
from core.periods import Period
from tests.conftest import HEAT, KYIV
from tests.talk import Talk

async def link(talk: Talk, supplier: str = "heat", number: str = HEAT, proof: str = "1234.56") -> None:
    await talk.start()
    await talk.press("btn_accounts")
    await talk.press("btn_link")
    await talk.press("supplier_button", name=talk.service._suppliers[supplier].names)
    await talk.say(number)
    await talk.say(proof)


async def test_first_start_greets_explains_what_is_stored_and_shows_the_menu(talk):
    await talk.start()
    assert talk.keys == ["welcome", "privacy_notice", "menu"]
    assert talk.button_keys == ["btn_submit", "btn_accounts", "btn_history", "btn_reminders", "btn_help",
                                "btn_receipts", "btn_money"]
    assert "Забути мене" in talk.text()
    await talk.start()
    assert talk.keys == ["welcome", "menu"]


async def test_linking_with_the_last_payment_amount(talk, heat_account, store):
    await link(talk, proof="1 234,56 грн")
    assert talk.keys == ["link_done", "menu"]
    assert "•••0001" in talk.text()
    assert HEAT not in talk.text()  # the full number is not echoed back
    assert store.links == [(store.residents[talk.chat]["id"], heat_account.id)]


async def test_a_malformed_number_is_refused_at_once_with_an_example(talk, heat_account):
    await link(talk, number="12345")
    assert talk.keys[0] == "link_bad_number"
    assert "100000000000001" in talk.text()
    await talk.say(HEAT)
    assert talk.keys == ["link_type_payment"]


async def test_an_unknown_number_and_a_wrong_proof_get_the_same_answer_after_the_proof(talk, heat_account):
    await link(talk, number="100000000000999")
    unknown = talk.text()
    assert talk.keys == ["link_failed", "link_type_payment"]
    await talk.press("btn_back")
    await talk.say(HEAT)
    await talk.say("999.99")
    assert talk.text() == unknown


async def test_apartment_proves_only_where_no_payment_is_on_file(talk, store, heat_account):
    store.add_account("water", "20000001", payment=None, apartment="15",
                      meters=[{"service": "cold_water", "last": "10", "on": date(2026, 10, 1)}])
    await link(talk, supplier="water", number="20000001", proof="")
    await talk.press("btn_use_apartment")
    await talk.say("кв. 15")
    assert talk.keys == ["link_done", "menu"]
    await link(talk, proof="")
    await talk.press("btn_use_apartment")
    await talk.say("5")  # right apartment, but the heat account has a payment on file
    assert talk.keys == ["link_failed", "link_type_apartment"]


async def test_five_wrong_proofs_from_several_residents_lock_the_account_for_a_day(service, heat_account, clock):
    for n in range(5):
        await link(Talk(service, "telegram", f"attacker{n}"), proof="1.00")
    late = Talk(service, "viber", "owner")
    await link(late, proof="1234.56")
    assert late.keys == ["use_buttons", "menu"]  # refused already at the number: the proof is not asked
    await link(late, number="")
    await late.say(HEAT)
    assert late.keys == ["link_locked", "menu"]
    assert "21.11.2026" in late.text()
    clock.advance(hours=24, minutes=1)
    await link(late, proof="1234.56")
    assert late.keys == ["link_done", "menu"]


async def test_the_lock_also_covers_numbers_that_do_not_exist(service):
    for n in range(5):
        await link(Talk(service, "telegram", f"a{n}"), number="100000000000777", proof="1.00")
    probe = Talk(service, "telegram", "probe")
    await link(probe, number="", proof="100000000000777")
    assert probe.keys == ["link_locked", "menu"]


async def submit_start(talk: Talk) -> None:
    await talk.start()
    await talk.press("btn_submit")


async def test_submitting_readings_meter_by_meter_then_confirming_gives_a_receipt(talk, heat_account, store):
    await link(talk)
    await submit_start(talk)
    assert talk.keys == ["meter_prompt"]
    prompt = talk.text()
    assert "1520,125" in prompt and "28.10.2026" in prompt and "1 з 2" in prompt
    await talk.say("1 525,5")
    assert talk.keys == ["meter_prompt"] and "312,4" in talk.text()
    await talk.press("btn_unchanged")
    assert talk.keys == ["summary"]
    summary = talk.text()
    assert "1520,125 → 1525,5" in summary and "5,375" in summary and "без змін" in summary
    assert store.readings == []  # nothing accepted before confirmation
    await talk.press("btn_confirm")
    assert talk.keys == ["receipt", "menu"]
    reference = talk.reply("receipt").text.params["reference"]
    assert reference in talk.text()
    accepted = [r for r in store.readings if r.status is ReadingStatus.ACCEPTED]
    assert {(r.value, r.consumption, r.kind, r.period) for r in accepted} == {
        (Decimal("1525.5"), Decimal("5.375"), ReadingKind.TYPED, Period(2026, 11)),
        (Decimal("312.4"), Decimal("0"), ReadingKind.UNCHANGED, Period(2026, 11)),
    }
    assert {r.reference for r in accepted} == {reference}


async def test_a_second_submission_in_the_window_replaces_the_first_and_says_so(talk, heat_account, store):
    await link(talk)
    await submit_start(talk)
    await talk.say("1525")
    await talk.press("btn_unchanged")
    await talk.press("btn_confirm")
    assert "замінено" not in talk.text()
    await submit_start(talk)
    await talk.say("1526")
    await talk.press("btn_unchanged")
    assert "замінять передані вами 20.11.2026" in talk.text()
    await talk.press("btn_confirm")
    assert "замінено" in talk.text()
    accepted = [r for r in store.readings if r.status is ReadingStatus.ACCEPTED]
    assert sorted(r.value for r in accepted) == [Decimal("312.4"), Decimal("1526")]
    assert sum(r.status is ReadingStatus.REPLACED for r in store.readings) == 2


@pytest.mark.parametrize("typed, key", [
    ("", "parse_empty"), ("-5", "parse_negative"), ("abc", "parse_not_a_number"), ("1e5", "parse_not_a_number"),
    ("1525,1234", "parse_too_many_decimals"), ("1234567", "parse_too_many_digits"), ("nan", "parse_not_a_number"),
])
async def test_a_refused_value_says_why_and_keeps_the_resident_at_the_meter(talk, heat_account, typed, key):
    await link(talk)
    await submit_start(talk)
    await talk.say(typed or " ")
    assert talk.keys == [key]
    assert "1234,5" in talk.text()
    await talk.say("1525")
    assert talk.keys == ["meter_prompt"] and "2 з 2" in talk.text()


async def test_lower_than_previous_is_refused_unless_the_resident_says_the_meter_was_replaced(talk, heat_account):
    await link(talk)
    await submit_start(talk)
    await talk.say("12")
    assert talk.keys == ["lower_than_previous"]
    assert "btn_meter_rolled_over" not in talk.button_keys  # 1520 is nowhere near the dial's maximum
    await talk.press("btn_meter_replaced")
    assert talk.keys == ["new_meter_serial"]
    await talk.say("NEW-77")
    await talk.say("05.11.2026")
    await talk.say("2")
    await talk.press("btn_skip")
    assert talk.keys == ["meter_prompt"]  # on to the next meter
    await talk.press("btn_unchanged")
    assert "12 Гкал (новий лічильник №NEW-77, встановлено 05.11.2026)" in talk.text()


async def test_a_rollover_is_never_guessed_but_offered_near_the_maximum(talk, store):
    store.add_account("heat", HEAT, meters=[
        {"serial": "HW", "service": "hot_water", "last": "99990", "on": date(2026, 10, 28)}])
    await link(talk, proof="100")
    await submit_start(talk)
    await talk.say("5")
    assert talk.keys == ["lower_than_previous"]
    await talk.press("btn_meter_rolled_over")
    assert talk.keys == ["summary"]
    assert "перехід через нуль" in talk.text() and "15 м³" in talk.text()


async def test_far_above_usual_asks_and_accepts_a_photo_as_evidence(talk, heat_account, store):
    await link(talk)
    await submit_start(talk)
    await talk.say("1600")  # 80 Gcal in a month: over the service's physical limit
    assert talk.keys == ["impossible_consumption"]
    await talk.press("btn_type_again")
    assert talk.keys == ["meter_prompt"]
    await talk.say("1600")
    await talk.photo("file-id-1")
    assert talk.keys == ["photo_attached", "meter_prompt"]
    await talk.press("btn_unchanged")
    await talk.press("btn_confirm")
    assert store.submissions[-1].readings[0].evidence == "file-id-1"


async def test_three_times_the_usual_consumption_is_questioned(talk, store, clock):
    store.add_account("water", "20000001", meters=[
        {"serial": "CW", "service": "cold_water", "last": "100", "on": date(2026, 8, 1)}])
    await link(talk, supplier="water", number="20000001", proof="100")
    for month, value in ((8, "105"), (9, "110"), (10, "115")):
        clock.now = datetime(2026, month, 20, 12, tzinfo=KYIV)
        await submit_start(talk)
        await talk.say(value)
        await talk.press("btn_confirm")
    clock.now = datetime(2026, 11, 20, 12, tzinfo=KYIV)
    await submit_start(talk)
    await talk.say("140")
    assert talk.keys == ["unusual_consumption"]
    assert "25" in talk.text() and "5" in talk.text()
    await talk.press("btn_value_correct")
    assert talk.keys == ["summary"]


async def test_outside_the_window_readings_are_kept_as_pending_for_when_it_opens(talk, store, clock):
    store.add_account("gas", "3000000001", meters=[
        {"serial": "G", "service": "gas", "last": "4410", "on": date(2026, 11, 1)}])
    await link(talk, supplier="gas", number="3000000001", proof="100")
    await submit_start(talk)
    assert talk.keys == ["window_closed"]
    assert "28.11.2026" in talk.text() and "05.12.2026" in talk.text()
    await talk.press("btn_keep_for_later")
    await talk.say("4450")
    assert "передам їх 28.11.2026" in talk.text()
    await talk.press("btn_confirm")
    assert talk.keys == ["receipt_pending", "menu"]
    assert [r.status for r in store.readings] == [ReadingStatus.PENDING]
    assert store.readings[0].period == Period(2026, 11)


async def test_correcting_one_reading_returns_to_the_summary(talk, heat_account, store):
    await link(talk)
    await submit_start(talk)
    await talk.say("1525")
    await talk.say("313")
    await talk.press("btn_fix")
    await talk.press("meter_button", meter=talk.last[0].buttons[1][0].label.params["meter"])
    assert talk.keys == ["meter_prompt"] and "2 з 2" in talk.text()
    await talk.say("314")
    assert talk.keys == ["summary"] and "312,4 → 314" in talk.text()


async def test_cancel_from_a_meter_stores_nothing(talk, heat_account, store):
    await link(talk)
    await submit_start(talk)
    await talk.say("1525")
    await talk.say("/cancel")
    assert talk.keys == ["cancelled", "menu"]
    assert store.readings == []


async def test_two_zone_electricity_asks_day_then_night(talk, store):
    store.add_account("electricity", "40000001", meters=[
        {"serial": "E", "service": "electricity", "zone": "night", "last": "9120.7", "on": date(2026, 11, 1)},
        {"serial": "E", "service": "electricity", "zone": "day", "last": "18250.4", "on": date(2026, 11, 1)}])
    await link(talk, supplier="electricity", number="40000001", proof="100")
    await talk.start()
    await talk.press("btn_submit")
    assert talk.keys == ["window_closed"]  # 20 November: electricity opens on the 29th
    await talk.press("btn_keep_for_later")
    assert "(день)" in talk.text()
    await talk.say("18300")
    assert "(ніч)" in talk.text()


async def test_a_lapsed_meter_is_named_and_left_out(talk, store):
    store.add_account("heat", HEAT, meters=[
        {"serial": "OLD", "service": "hot_water", "last": "1", "on": date(2026, 1, 1),
         "verification_due": date(2026, 1, 1)},
        {"serial": "NEW", "service": "hot_water", "last": "1", "on": date(2026, 1, 1),
         "verification_due": date(2026, 12, 10)}])
    await link(talk, proof="100")
    await submit_start(talk)
    assert talk.keys == ["meter_lapsed", "meter_verification_soon", "meter_prompt"]
    assert "OLD" in talk.text() and "1 з 1" in talk.text()


async def test_a_stale_button_is_not_trusted(talk, heat_account, store):
    await link(talk)
    await submit_start(talk)
    await talk.say("1525")
    await talk.press("btn_unchanged")
    confirm = talk.button("btn_confirm")
    await talk.press("btn_fix")
    await talk.event(ButtonPressed(talk.chat, confirm.payload))
    assert talk.keys[0] == "stale_button"
    assert store.readings == []
    await talk.press_payload("0.confirm:not a payload")
    assert talk.keys[0] == "stale_button"


async def test_an_account_in_a_payload_is_checked_against_the_residents_own_links(service, store, heat_account):
    other = store.add_account("water", "20000002",
                              meters=[{"service": "cold_water", "last": "1", "on": date(2026, 1, 1)}])
    talk = Talk(service, "telegram", "5")
    await link(talk)
    store.add_account("water", "20000003", meters=[{"service": "cold_water", "last": "1", "on": date(2026, 1, 1)}])
    await link(talk, supplier="water", number="20000003", proof="100")
    await talk.press("btn_submit")
    forged = talk.button("account_button").payload.rsplit(":", 1)[0] + f":{other.id}"
    await talk.press_payload(forged)
    assert talk.keys[0] == "stale_button"


async def test_ten_quick_confirm_taps_store_one_submission(service, heat_account, store):
    talk = Talk(service, "telegram", "7")
    await link(talk)
    await submit_start(talk)
    await talk.say("1525")
    await talk.press("btn_unchanged")
    payload = talk.button("btn_confirm").payload
    outcomes = await asyncio.gather(*(service.handle(ButtonPressed(talk.chat, payload)) for _ in range(10)))
    assert len(store.submissions) == 1
    assert sum(o.replies[0].text.key == "receipt" for o in outcomes) == 1
    assert sum(o.replies[0].text.key == "stale_button" for o in outcomes) == 9
    assert len(service.locks) == 0  # nothing is kept for residents no longer being served


async def test_a_stale_press_brings_a_notice_for_its_button_and_remembers_its_message(service, heat_account):
    talk = Talk(service, "telegram", "8")
    await link(talk)
    payload = talk.button("btn_submit").payload
    fresh = await service.handle(ButtonPressed(talk.chat, payload, "41"))
    stale = await service.handle(ButtonPressed(talk.chat, payload, "41"))
    assert (fresh.origin, fresh.notice) == ("41", None)
    assert (stale.origin, stale.notice) == ("41", t("stale_notice"))
    assert stale.replies[0].text.key == "stale_button"  # channels without a notice show the screen again


def test_an_outbox_body_keeps_the_pressed_message_and_the_notice_and_older_bodies_still_read():
    replies = (Reply(t("menu")),)
    assert decode_answer(encode_replies(replies, origin="42", notice=t("stale_notice"))) == Answer(
        replies, "42", t("stale_notice"))
    assert decode_answer('[{"$reply":[{"$text":"menu","p":{}},[],null]}]') == Answer(replies)


async def test_history_shows_readings_with_consumption(talk, store, clock):
    store.add_account("heat", HEAT, payment="1234.56", meters=[
        {"serial": "HT-1", "service": "heating", "last": "1514", "on": date(2026, 9, 28)},
        {"serial": "HW-1", "service": "hot_water", "last": "312.4", "on": date(2026, 9, 28)},
    ])
    await link(talk)
    for month, value in ((10, "1522"), (11, "1530")):
        clock.now = datetime(2026, month, 20, 12, tzinfo=KYIV)
        await submit_start(talk)
        await talk.say(value)
        await talk.press("btn_unchanged")
        await talk.press("btn_confirm")
    await talk.start()
    await talk.press("btn_history")
    text = talk.text()
    assert "11.2026: 1530 Гкал (спожито 8)" in text
    assert "10.2026: 1522 Гкал (спожито 8)" in text
    chart = talk.last[0].chart
    assert chart is not None and chart.periods == ("2026-10", "2026-11")
    [heating] = [p for p in chart.panels if p.axis.params["unit"].key == "unit_gcal"]
    assert [(line.label.params["service"].key, line.values) for line in heating.lines] == [
        ("service_heating", (8.0, 8.0))]


async def test_reminders_are_on_by_default_and_can_be_turned_off_per_supplier(talk, heat_account, store):
    await link(talk)
    await talk.press("btn_reminders")
    assert "увімкнено" in talk.text()
    await talk.press("btn_reminder_off")
    assert talk.keys == ["reminder_turned_off", "reminders"]
    assert store.disabled == {(store.residents[talk.chat]["id"], "heat")}
    await talk.press("btn_reminder_on")
    assert store.disabled == set()


async def test_forget_me_deletes_the_resident_but_keeps_their_readings_unattributed(talk, heat_account, store):
    await link(talk)
    await submit_start(talk)
    await talk.say("1525")
    await talk.press("btn_unchanged")
    await talk.press("btn_confirm")
    await talk.press("btn_help")
    await talk.press("btn_forget")
    await talk.press("btn_forget_yes")
    assert talk.keys == ["forgotten"]
    assert talk.chat not in store.residents and store.links == []
    assert len(store.readings) == 2 and store.submissions[0].resident_id is None
    await talk.start()
    assert talk.keys == ["welcome", "privacy_notice", "menu"]


async def test_language_switch_to_english_and_back(talk):
    await talk.start()
    await talk.say("/language")
    assert talk.button_keys == ["lang_uk", "lang_en", "btn_continue"]  # and a way back without choosing
    await talk.press("lang_en")
    assert talk.keys == ["language_set", "menu"]
    assert "Main menu" in talk.text()
    await talk.say("мова")
    await talk.press("lang_uk")
    assert "Головне меню" in talk.text()


async def test_unsupported_content_is_answered_politely_where_the_resident_is(talk, heat_account):
    await link(talk)
    await submit_start(talk)
    await talk.sticker()
    assert talk.keys == ["unsupported", "meter_prompt"]


async def test_help_names_each_supplier_window_and_contacts(talk):
    await talk.start()
    await talk.say("/help")
    text = talk.text()
    assert "з 5-го числа до останнього дня місяця включно" in text
    assert "з 28-го числа місяця до 5-го числа наступного місяця включно" in text
    assert "1557" in text and "Без змін" in text


async def test_a_restart_mid_dialog_continues_where_the_resident_was(store, clock, suppliers, heat_account):
    from core.service import ConversationService
    from bot.dialogs.table import CONVERSATION
    from tests.fakes import FakeUnitOfWork

    def fresh_service():
        return ConversationService(lambda: FakeUnitOfWork(store), CONVERSATION, suppliers, clock, KYIV)

    talk = Talk(fresh_service(), "console", "9")
    await link(talk)
    await submit_start(talk)
    await talk.say("1525")
    after_restart = Talk(fresh_service(), "console", "9")
    await after_restart.say("313")
    assert after_restart.keys == ["summary"]
    assert "1520,125 → 1525" in after_restart.text()


async def test_started_for_a_new_resident_in_any_channel(service):
    talk = Talk(service, "viber", "x")
    await talk.event(Started(talk.chat))
    assert talk.keys == ["welcome", "privacy_notice", "menu"]


@pytest.mark.parametrize("screen, offers_once", [("btn_submit", True), ("btn_history", False), ("btn_money", False)])
async def test_handing_in_once_without_an_account_is_offered_where_readings_are_handed_in_only(
        talk, screen, offers_once):
    await talk.start()
    await talk.press(screen)
    assert talk.keys == ["no_accounts"]
    assert ("btn_submit_once" in talk.button_keys) is offers_once
    assert talk.button_keys[0] == "btn_link"


async def test_continue_under_the_language_choice_goes_back_to_the_step_with_the_draft_kept(talk, heat_account):
    await link(talk)
    await submit_start(talk)
    await talk.say("1525,5")
    assert talk.keys == ["meter_prompt"]
    prompt = talk.text()
    await talk.say("/language")
    await talk.press("btn_continue")
    assert talk.keys == ["meter_prompt"] and talk.text() == prompt  # the second meter, as it was
    while "btn_unchanged" in talk.button_keys:
        await talk.press("btn_unchanged")
    assert talk.keys == ["summary"] and "1525,5" in talk.text()


async def test_continue_never_puts_the_delete_everything_question_again_it_goes_to_the_menu(talk):
    await talk.start()
    await talk.press("btn_help")
    await talk.press("btn_forget")
    assert talk.keys == ["forget_confirm"]
    await talk.say("/language")  # any later message with the button under it
    await talk.press("btn_continue")
    assert talk.keys == ["menu"]
