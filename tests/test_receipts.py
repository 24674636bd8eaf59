"""Proof of what was handed in: the receipt, "my receipts", history's statuses, a receipt found by its reference."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from core.kept_readings import settle_kept_readings
from bot.dialogs.receipts import parse_reference
from tests.conftest import KYIV
from tests.fakes import FakeUnitOfWork
from tests.talk import Talk
from tests.test_conversation import link, submit_start

GAS = "3000000001"


async def hand_in(talk: Talk, value: str = "1525") -> str:
    """Submit the heat account's readings (the second meter unchanged) and confirm; the receipt's reference."""
    await submit_start(talk)
    await talk.say(value)
    await talk.press("btn_unchanged")
    await talk.press("btn_confirm")
    return str(talk.reply("receipt").text.params["reference"])


def compact(reference: str) -> str:
    return reference.replace("-", "").lower()


async def test_the_receipt_shows_the_values_the_period_the_local_time_and_the_reference(talk, heat_account):
    await link(talk)
    reference = await hand_in(talk)
    text = talk.text()
    assert "період 11.2026), 20.11.2026 12:00" in text
    assert "HT-1: 1525 Гкал" in text and "HW-1: 312,4 м³" in text
    assert reference in text
    assert "HW-1: 312.4 m³" in talk.text("en")


async def test_my_receipts_lists_the_last_ones_newest_first_with_their_status(talk, heat_account, clock):
    await link(talk)
    first = await hand_in(talk, "1525")
    clock.advance(hours=3)
    second = await hand_in(talk, "1526")
    await talk.press("btn_receipts")
    assert talk.keys == ["receipts"]
    text = talk.text()
    assert text.index(second) < text.index(first)
    assert f"• 20.11.2026 15:00 · {second}\n  Тепло та гаряча вода •••0001, період 11.2026 — прийнято" in text
    assert f"• 20.11.2026 12:00 · {first}" in text and "замінено новішими" in text
    assert [b.label.params["reference"] for row in talk.last[0].buttons for b in row
            if b.label.key == "receipt_button"] == [second, first]
    await talk.press("receipt_button", reference=first)
    assert talk.keys == ["receipt_card"]
    assert "HT-1: 1525 Гкал — замінено новішими" in talk.text()


async def test_my_receipts_shows_at_most_ten(talk, heat_account, clock):
    await link(talk)
    for n in range(11):
        clock.advance(minutes=1)
        await hand_in(talk, str(1525 + n))
    await talk.press("btn_receipts")
    assert talk.text().count("• 20.11.2026") == 10
    assert "20.11.2026 12:01" not in talk.text()  # the oldest is left out


async def test_my_receipts_without_any_says_how_one_comes(talk, heat_account):
    await link(talk)
    await talk.press("btn_receipts")
    assert talk.keys == ["receipts_none"]
    assert "KM-2611-7F3K9Q" in talk.text()


@pytest.mark.parametrize("typed", [str.lower, compact, lambda r: " " + r.lower().replace("-", " ") + " "])
async def test_a_reference_typed_in_the_menu_finds_the_receipt(talk, heat_account, typed):
    await link(talk)
    reference = await hand_in(talk)
    await talk.say(typed(reference))
    assert talk.keys == ["receipt_card"]
    text = talk.text()
    assert text.startswith(f"🧾 Квитанція {reference}\nТепло та гаряча вода •••0001, період 11.2026\n"
                           "Передано 20.11.2026 12:00:")  # stored in UTC, shown in Kyiv time
    assert "HT-1: 1525 Гкал — прийнято" in text
    await talk.press("btn_receipts_all")
    assert talk.keys == ["receipts"]


async def test_a_reference_typed_on_the_receipts_screen_finds_it(talk, heat_account):
    await link(talk)
    reference = await hand_in(talk)
    await talk.press("btn_receipts")
    await talk.say(compact(reference))
    assert talk.keys == ["receipt_card"] and reference in talk.text()
    await talk.say("hello")
    assert talk.keys == ["receipt_bad_reference", "receipt_card"]


def test_references_are_read_as_residents_type_them():
    assert parse_reference("km26117f3k9q") == "KM-2611-7F3K9Q"
    assert parse_reference("КМ-2611-7F3K9Q") == "KM-2611-7F3K9Q"  # Cyrillic К and М
    assert parse_reference("KM–2611–7F3K9Q") == "KM-2611-7F3K9Q"  # dashes a phone puts in
    assert parse_reference("2611-7F3K9Q") is None
    assert parse_reference("1525") is None


async def test_another_households_reference_is_answered_like_an_unknown_one(service, store, heat_account):
    owner = Talk(service, "telegram", "owner")
    await link(owner)
    reference = await hand_in(owner)
    store.add_account("heat", "100000000000002", payment="50", meters=[
        {"serial": "X", "service": "heating", "last": "1", "on": date(2026, 10, 1)}])
    stranger = Talk(service, "telegram", "stranger")
    await link(stranger, number="100000000000002", proof="50")
    unknown = reference[:-1] + ("A" if reference[-1] != "A" else "B")
    await stranger.say(unknown)
    assert stranger.keys == ["receipt_not_found", "menu"]
    answer_to_unknown = stranger.text().replace(unknown, "<ref>")
    await stranger.say(compact(reference))
    assert stranger.keys == ["receipt_not_found", "menu"]
    assert stranger.text().replace(reference, "<ref>") == answer_to_unknown
    await stranger.press("btn_receipts")
    assert stranger.keys == ["receipts_none"]


async def test_a_shared_accounts_household_sees_its_receipts_and_the_author_keeps_theirs(service, heat_account):
    owner = Talk(service, "telegram", "owner")
    await link(owner)
    reference = await hand_in(owner)
    member = Talk(service, "viber", "member")
    await link(member)
    await member.say(reference)
    assert member.keys == ["receipt_card"]
    await member.say("/menu")
    await member.press("btn_accounts")
    await member.press("btn_unlink")
    await member.press("btn_unlink_yes")
    await member.say("/menu")
    await member.say(reference)
    assert member.keys == ["receipt_not_found", "menu"]  # no longer of the household
    await owner.press("btn_accounts")
    await owner.press("btn_unlink")
    await owner.press("btn_unlink_yes")
    await owner.press("btn_menu")
    await owner.say(reference)
    assert owner.keys == ["receipt_card"]  # the resident who handed it in


async def test_history_shows_each_periods_references_statuses_and_kept_readings(talk, store, clock, suppliers):
    store.add_account("gas", GAS, payment="100", meters=[
        {"serial": "G", "service": "gas", "last": "4410", "on": date(2026, 9, 1)}])
    await link(talk, supplier="gas", number=GAS, proof="100")
    references = []

    async def submit(value: str, keep: bool = False) -> None:
        await submit_start(talk)
        if keep:
            await talk.press("btn_keep_for_later")
        await talk.say(value)
        await talk.press("btn_confirm")
        references.append(talk.last[0].text.params["reference"])

    clock.now = datetime(2026, 9, 30, 12, tzinfo=KYIV)
    await submit("4420")
    await submit("4425")  # replaces the first
    clock.now = datetime(2026, 10, 20, 12, tzinfo=KYIV)
    await submit("4430", keep=True)  # kept for October's window, which closes unseen
    clock.now = datetime(2026, 11, 20, 12, tzinfo=KYIV)
    await settle_kept_readings(lambda: FakeUnitOfWork(store), suppliers, clock.now, KYIV)
    await submit("4450", keep=True)
    await talk.start()
    await talk.press("btn_history")
    text = talk.text()
    replaced, accepted, expired, kept = references
    assert (f"Квитанції:\n"
            f"• 11.2026 · {kept} · 20.11.2026 12:00 — збережено, буде передано\n"
            f"↳ Газ №G: 4450 м³\n"
            f"• 10.2026 · {expired} · 20.10.2026 12:00 — не передано: прийом закрився\n"
            f"↳ Газ №G: 4430 м³\n"
            f"• 09.2026 · {accepted} · 30.09.2026 12:00 — прийнято\n"
            f"• 09.2026 · {replaced} · 30.09.2026 12:00 — замінено новішими") in text
    assert "kept for later" in talk.text("en") and "expired" in talk.text("en")


async def test_a_kept_receipt_handed_in_later_says_when(talk, store, clock, suppliers):
    store.add_account("gas", GAS, payment="100", meters=[
        {"serial": "G", "service": "gas", "last": "4410", "on": date(2026, 11, 1)}])
    await link(talk, supplier="gas", number=GAS, proof="100")
    await submit_start(talk)
    await talk.press("btn_keep_for_later")
    await talk.say("4450")
    await talk.press("btn_confirm")
    assert "20.11.2026 12:00:\n• Газ №G: 4450 м³" in talk.text()
    reference = talk.reply("receipt_pending").text.params["reference"]
    clock.now = datetime(2026, 11, 28, 9, 30, tzinfo=KYIV)
    await settle_kept_readings(lambda: FakeUnitOfWork(store), suppliers, clock.now, KYIV)
    await talk.say(reference)
    text = talk.text()
    assert "Передано 20.11.2026 12:00" in text and "4450 м³ — прийнято" in text
    assert "Збережені показники передано постачальнику 28.11.2026 09:30." in text
