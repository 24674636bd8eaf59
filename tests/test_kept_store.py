"""Kept readings on real databases: a SQLite file, and PostgreSQL where its server answers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import select

from core.domain import ReadingStatus
from core.events import decode_replies
from core.kept_readings import settle_kept_readings
from core.periods import Period
from bot.dialogs.render import render
from storage.models import ReadingRow
from storage.readings_export import accepted_readings
from tests.conftest import KYIV
from tests.talk import Talk
from tests.test_storage import load_demo

GAS = "3000000001"
NOVEMBER = Period(2026, 11)
GAS_OPEN = datetime(2026, 11, 28, 9, tzinfo=KYIV)
GAS_CLOSED = datetime(2026, 12, 6, 9, tzinfo=KYIV)


async def keep_gas(app, chat_id: str) -> tuple[Talk, str]:
    """A resident keeps gas readings on 20 November (gas opens on the 28th); the talk and the reference."""
    talk = Talk(app.service, "console", chat_id)
    await talk.start()
    await talk.press("btn_accounts")
    await talk.press("btn_link")
    await talk.press("supplier_button", name=app.suppliers["gas"].names)
    await talk.say(GAS)
    await talk.say("890")
    await talk.press("btn_submit")
    await talk.press("btn_keep_for_later")
    await talk.say("4460,5")
    await talk.press("btn_confirm")
    return talk, talk.reply("receipt_pending").text.params["reference"]


async def settle(app, now: datetime, **kwargs):
    return await settle_kept_readings(app.uow_factory, app.suppliers, now, KYIV, **kwargs)


async def outbox_texts(app, talk: Talk) -> list[str]:
    async with app.uow_factory() as uow:
        entries = await uow.outbox.pending("console", 100)
    return [render(r, e.language).text for e in entries if e.chat == talk.chat for r in decode_replies(e.body)]


async def statuses(app) -> list[str]:
    async with app.uow_factory() as uow:
        return list((await uow.session.execute(select(ReadingRow.status))).scalars())


async def test_kept_readings_are_handed_in_with_one_receipt_and_exported(sql_app):
    await load_demo(sql_app)
    talk, reference = await keep_gas(sql_app, "61")
    async with sql_app.uow_factory() as uow:
        assert await uow.kept.periods() == [NOVEMBER]
        assert await accepted_readings(uow.session, "gas", NOVEMBER) == []
    report = await settle(sql_app, GAS_OPEN)
    again = await settle(sql_app, GAS_OPEN)
    assert (report.handed_in, report.readings_handed_in, report.messages) == (1, 1, 1)
    assert (again.handed_in, again.messages) == (0, 0)
    [receipt] = await outbox_texts(sql_app, talk)
    assert reference in receipt and "Газ •••0001" in receipt and GAS not in receipt
    async with sql_app.uow_factory() as uow:
        [row] = await accepted_readings(uow.session, "gas", NOVEMBER)
        assert await uow.kept.periods() == []
    assert (row[2], row[6], row[11]) == ("GS-4001", Decimal("4460.5"), reference)
    assert isinstance(row[9], datetime) and row[9] == GAS_OPEN and row[9].tzinfo == timezone.utc  # handed in then


async def test_kept_readings_whose_window_closed_expire_and_the_resident_is_due_again(sql_app):
    await load_demo(sql_app)
    talk, _ = await keep_gas(sql_app, "62")
    async with sql_app.uow_factory() as uow:  # kept readings count as handed in while they wait
        assert await uow.campaigns.count_due("gas", NOVEMBER, "closing", GAS_OPEN.date(), ["console"]) == 0
    report = await settle(sql_app, GAS_CLOSED)
    assert (report.expired, report.readings_expired, report.handed_in) == (1, 1, 0)
    assert await statuses(sql_app) == ["expired"]
    [notice] = await outbox_texts(sql_app, talk)
    assert "Газ •••0001, період 11.2026" in notice and "закрився 05.12.2026" in notice
    async with sql_app.uow_factory() as uow:
        assert await accepted_readings(uow.session, "gas", NOVEMBER) == []
        assert await uow.campaigns.count_due("gas", NOVEMBER, "closing", GAS_OPEN.date(), ["console"]) == 1
        meters = [m.id for m in (await uow.accounts.find("gas", GAS)).meters]
        assert await uow.readings.in_period(meters, NOVEMBER) == []
    assert (await settle(sql_app, GAS_CLOSED)).expired == 0
    assert len(await outbox_texts(sql_app, talk)) == 1


async def test_a_forgotten_residents_kept_readings_are_handed_in_without_a_message(sql_app):
    await load_demo(sql_app)
    talk, _ = await keep_gas(sql_app, "63")
    await talk.say("/help")
    await talk.press("btn_forget")
    await talk.press("btn_forget_yes")
    report = await settle(sql_app, GAS_OPEN)
    assert (report.handed_in, report.messages) == (1, 0)
    assert await statuses(sql_app) == [ReadingStatus.ACCEPTED.value]
    async with sql_app.uow_factory() as uow:
        assert await uow.outbox.pending("console", 10) == []


async def test_two_runs_at_once_hand_in_once_and_write_one_receipt(sql_app):
    await load_demo(sql_app)
    talk, _ = await keep_gas(sql_app, "64")
    reports = await asyncio.gather(*(settle(sql_app, GAS_OPEN) for _ in range(4)))
    assert sum(r.handed_in for r in reports) == 1 and sum(r.messages for r in reports) == 1
    assert len(await outbox_texts(sql_app, talk)) == 1


async def test_pages_of_kept_submissions_are_settled_to_the_last(sql_app):
    await load_demo(sql_app)
    talks = [(await keep_gas(sql_app, f"7{n}"))[0] for n in range(5)]  # each keeps, replacing the one before
    async with sql_app.uow_factory() as uow:
        [kept] = await uow.kept.pending("gas", NOVEMBER, 0, 10)
        assert kept.chat == talks[-1].chat and kept.readings == 1
    assert (await settle(sql_app, GAS_OPEN, page=2)).handed_in == 1
    assert sorted(await statuses(sql_app)) == ["accepted"] + ["replaced"] * 4
