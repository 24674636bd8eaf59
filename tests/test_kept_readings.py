"""Kept readings handed in by the core when their window opens, or expired once it closed without them."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from core.domain import ReadingKind, ReadingStatus
from core.events import ChatRef, decode_replies
from core.kept_readings import settle_kept_readings
from core.periods import Period
from core.ports import NewReading, Submission
from bot.dialogs.render import render
from tests.conftest import KYIV
from tests.fakes import FakeUnitOfWork
from tests.talk import Talk
from tests.test_conversation import link

NUMBERS = {"heat": "100000000000001", "water": "20000001", "gas": "3000000001", "electricity": "40000001"}
SERVICES = {"heat": "heating", "water": "cold_water", "gas": "gas", "electricity": "electricity"}
CHAT = ChatRef("telegram", "501")


def kyiv(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KYIV)


async def keep(store, supplier: str, period: Period, *, chat: ChatRef | None = CHAT, reference: str = "KM-1",
               number: str | None = None, language: str = "uk") -> int:
    """A linked resident's readings kept for ``period``, as the conversation stores them; the account's id."""
    account = store.add_account(supplier, number or NUMBERS[supplier], meters=[
        {"serial": "M1", "service": SERVICES[supplier], "last": "100", "on": date(2026, 10, 1)}])
    async with FakeUnitOfWork(store) as uow:
        resident_id = None
        if chat is not None:
            resident = await uow.residents.get_or_create(chat)
            resident.language = language
            await uow.residents.save(resident)
            await uow.accounts.link(resident.id, account.id, kyiv(2026, 10, 1))
            resident_id = resident.id
        await uow.readings.submit(Submission(
            account.id, resident_id, period, "telegram", reference, kyiv(2026, 11, 1, 12), ReadingStatus.PENDING,
            (NewReading(account.meters[0].id, Decimal("110"), Decimal("100"), Decimal("10"), ReadingKind.TYPED),)))
        await uow.commit()
    return account.id


async def settle(store, suppliers, now: datetime, **kwargs):
    return await settle_kept_readings(lambda: FakeUnitOfWork(store), suppliers, now, KYIV, **kwargs)


def messages(store) -> list[tuple[ChatRef, str, str]]:
    """What waits in the outbox: (chat, text key, the text as the resident reads it)."""
    found = []
    for entry in store.outbox.values():
        for reply in decode_replies(entry.body):
            found.append((entry.chat, reply.text.key, render(reply, entry.language).text))
    return found


# (supplier, kept for period, moment of the run, what becomes of the kept reading)
WINDOWS = [
    ("heat", "2026-11", kyiv(2026, 11, 4, 23, 59), "kept"),
    ("heat", "2026-11", kyiv(2026, 11, 5, 0, 1), "handed in"),
    ("heat", "2026-11", kyiv(2026, 11, 30, 23, 59), "handed in"),
    ("heat", "2026-11", kyiv(2026, 12, 1, 0, 1), "expired"),
    ("water", "2026-11", kyiv(2026, 11, 9, 12), "kept"),
    ("water", "2026-11", kyiv(2026, 11, 10, 9), "handed in"),
    ("water", "2026-11", kyiv(2026, 12, 10, 9), "expired"),  # December's window is open: November's closed
    ("gas", "2026-11", kyiv(2026, 11, 27, 23, 59), "kept"),
    ("gas", "2026-11", kyiv(2026, 11, 28, 0, 30), "handed in"),  # still the 27th in UTC
    ("gas", "2026-11", kyiv(2026, 12, 5, 23, 59), "handed in"),  # the window crosses the month's end
    ("gas", "2026-11", kyiv(2026, 12, 6, 0, 1), "expired"),
    ("gas", "2026-12", kyiv(2027, 1, 5, 20), "handed in"),  # and the year's end
    ("gas", "2026-12", kyiv(2027, 1, 6, 9), "expired"),
    ("electricity", "2026-11", kyiv(2026, 11, 28, 12), "kept"),
    ("electricity", "2026-11", kyiv(2026, 11, 29, 9), "handed in"),  # the second-to-last day
    ("electricity", "2026-11", kyiv(2026, 12, 3, 20), "handed in"),
    ("electricity", "2026-11", kyiv(2026, 12, 4, 9), "expired"),
    ("electricity", "2027-02", kyiv(2027, 2, 27, 9), "handed in"),  # February's second-to-last day
]
STATUS = {"kept": ReadingStatus.PENDING, "handed in": ReadingStatus.ACCEPTED, "expired": ReadingStatus.EXPIRED}
MESSAGE = {"kept": [], "handed in": ["handover_receipt"], "expired": ["kept_expired"]}


@pytest.mark.parametrize("supplier, period, now, outcome", WINDOWS)
async def test_a_kept_reading_is_handed_in_inside_its_window_and_expired_after_it(
        store, suppliers, supplier, period, now, outcome):
    await keep(store, supplier, Period.parse(period))
    report = await settle(store, suppliers, now)
    [reading] = store.readings
    assert reading.status is STATUS[outcome]
    assert (report.handed_in, report.expired) == ((outcome == "handed in") * 1, (outcome == "expired") * 1)
    assert [key for _, key, _ in messages(store)] == MESSAGE[outcome]
    assert report.messages == len(MESSAGE[outcome])
    if outcome == "handed in":
        assert reading.accepted_at == now and reading.accepted_at.tzinfo == timezone.utc  # as the database says
    else:
        assert reading.accepted_at is None


async def test_the_receipt_names_the_masked_account_the_period_and_the_reference(store, suppliers):
    await keep(store, "gas", Period(2026, 11), reference="KM-2611-ABCDEF")
    await settle(store, suppliers, kyiv(2026, 11, 28, 9))
    [(chat, key, text)] = messages(store)
    assert chat == CHAT
    assert text == ("✅ Збережені показники передано постачальнику (Газ •••0001, період 11.2026). "
                    "Номер квитанції: KM-2611-ABCDEF.")
    assert "3000000001" not in text


async def test_the_receipt_is_in_the_residents_language(store, suppliers):
    await keep(store, "gas", Period(2026, 11), language="en")
    await settle(store, suppliers, kyiv(2026, 11, 28, 9))
    [(_, _, text)] = messages(store)
    assert text.startswith("✅ Your kept readings were handed in to the supplier (Gas •••0001, period 11.2026)")


async def test_an_expiry_notice_says_the_current_window_is_open_and_offers_to_submit(store, suppliers):
    account_id = await keep(store, "heat", Period(2026, 11))
    await settle(store, suppliers, kyiv(2026, 12, 6, 9))
    [entry] = store.outbox.values()
    [reply] = decode_replies(entry.body)
    text = render(reply, "uk").text
    assert "Тепло та гаряча вода •••0001, період 11.2026" in text
    assert "прийом закрився 30.11.2026" in text
    assert "Постачальник їх не отримав" in text
    assert "Зараз триває прийом показників за 12.2026, до 31.12.2026" in text
    [[button]] = reply.buttons
    assert (render(reply, "uk").buttons[0][0].label, button.payload) == ("📝 Передати показники •••0001",
                                                                          f"sub:{account_id}")


async def test_an_expiry_notice_names_the_next_window_when_none_is_open(store, suppliers):
    await keep(store, "gas", Period(2026, 11))
    await settle(store, suppliers, kyiv(2026, 12, 6, 9))
    [(_, _, text)] = messages(store)
    assert "прийом закрився 05.12.2026" in text
    assert "Наступний прийом — з 28.12.2026 до 05.01.2027 (період 12.2026)" in text


async def test_a_forgotten_resident_gets_no_message_but_the_readings_are_still_handed_in(store, suppliers):
    await keep(store, "gas", Period(2026, 11), chat=None)
    report = await settle(store, suppliers, kyiv(2026, 11, 28, 9))
    assert [r.status for r in store.readings] == [ReadingStatus.ACCEPTED]
    assert (report.handed_in, report.messages, store.outbox) == (1, 0, {})


async def test_a_forgotten_resident_gets_no_expiry_notice_either(store, suppliers):
    await keep(store, "gas", Period(2026, 11), chat=None)
    report = await settle(store, suppliers, kyiv(2026, 12, 6, 9))
    assert [r.status for r in store.readings] == [ReadingStatus.EXPIRED]
    assert (report.expired, report.messages, store.outbox) == (1, 0, {})


@pytest.mark.parametrize("now", [kyiv(2026, 11, 28, 9), kyiv(2026, 12, 6, 9)])
async def test_running_twice_settles_nothing_twice_and_sends_one_message(store, suppliers, now):
    await keep(store, "gas", Period(2026, 11))
    first = await settle(store, suppliers, now)
    again = await settle(store, suppliers, now)
    assert first.handed_in + first.expired == 1
    assert (again.handed_in, again.expired, again.messages) == (0, 0, 0)
    assert len(store.outbox) == 1


async def test_an_expired_reading_does_not_count_as_submitted(store, suppliers):
    await keep(store, "heat", Period(2026, 11))
    await settle(store, suppliers, kyiv(2026, 12, 1, 9))
    async with FakeUnitOfWork(store) as uow:
        assert await uow.readings.in_period([store.readings[0].meter_id], Period(2026, 11)) == []


async def test_a_kept_reading_replaced_inside_the_window_is_not_handed_in_again(store, suppliers):
    await keep(store, "gas", Period(2026, 11))
    async with FakeUnitOfWork(store) as uow:  # the resident handed in new values before the run
        await uow.readings.submit(Submission(
            store.submissions[0].account_id, None, Period(2026, 11), "telegram", "KM-2", kyiv(2026, 11, 28, 8),
            ReadingStatus.ACCEPTED, (NewReading(store.readings[0].meter_id, Decimal("111"), Decimal("100"),
                                                Decimal("11"), ReadingKind.TYPED),)))
        await uow.commit()
    report = await settle(store, suppliers, kyiv(2026, 11, 28, 9))
    assert report.handed_in == 0 and store.outbox == {}
    assert [(r.reference, r.status) for r in store.readings] == [("KM-1", ReadingStatus.REPLACED),
                                                                 ("KM-2", ReadingStatus.ACCEPTED)]


async def test_many_kept_submissions_are_settled_a_page_per_transaction(store, suppliers):
    for n in range(250):
        await keep(store, "gas", Period(2026, 11), chat=ChatRef("viber", f"v{n}"), reference=f"KM-{n}",
                   number=f"{3000000000 + n:010d}")
    commits = store.commits
    report = await settle(store, suppliers, kyiv(2026, 11, 28, 9), page=100)
    assert (report.handed_in, report.readings_handed_in, report.messages) == (250, 250, 250)
    assert store.commits - commits == 3
    assert {r.status for r in store.readings} == {ReadingStatus.ACCEPTED}
    assert len({e.chat for e in store.outbox.values()}) == 250


async def test_periods_of_one_supplier_are_settled_each_by_its_own_window(store, suppliers):
    await keep(store, "gas", Period(2026, 10), reference="KM-OCT")  # October's window closed on 5 November
    await keep(store, "gas", Period(2026, 11), reference="KM-NOV", number="3000000002")
    await keep(store, "heat", Period(2026, 12), reference="KM-DEC")  # heat's December window is still to come
    report = await settle(store, suppliers, kyiv(2026, 11, 28, 9))
    assert {r.reference: r.status for r in store.readings} == {
        "KM-OCT": ReadingStatus.EXPIRED, "KM-NOV": ReadingStatus.ACCEPTED, "KM-DEC": ReadingStatus.PENDING}
    assert (report.handed_in, report.expired) == (1, 1)


async def test_readings_kept_in_the_conversation_get_the_receipt_when_the_window_opens(talk, store, suppliers, clock):
    store.add_account("gas", NUMBERS["gas"], meters=[
        {"serial": "G", "service": "gas", "last": "4410", "on": date(2026, 11, 1)}])
    await link(talk, supplier="gas", number=NUMBERS["gas"], proof="100")
    await talk.press("btn_submit")
    await talk.press("btn_keep_for_later")
    await talk.say("4450")
    await talk.press("btn_confirm")
    reference = talk.reply("receipt_pending").text.params["reference"]
    await settle(store, suppliers, kyiv(2026, 11, 27, 20))
    assert store.outbox == {}
    await settle(store, suppliers, kyiv(2026, 11, 28, 9))
    [(chat, _, text)] = messages(store)
    assert chat == talk.chat and reference in text and "передано постачальнику" in text
    await talk.start()
    await talk.press("btn_history")
    assert "11.2026: 4450 м³ (спожито 40)" in talk.text()


async def test_a_resident_whose_kept_readings_expired_can_submit_from_the_notice(store, suppliers, service, clock):
    account_id = await keep(store, "heat", Period(2026, 11))
    clock.now = kyiv(2026, 12, 6, 9)
    await settle(store, suppliers, clock.now)
    [entry] = store.outbox.values()
    [reply] = decode_replies(entry.body)
    talk = Talk(service, CHAT.channel, CHAT.chat_id)
    await talk.press_payload(reply.buttons[0][0].payload)
    assert talk.keys == ["meter_prompt"]
    assert account_id in {a for _, a in store.links}
