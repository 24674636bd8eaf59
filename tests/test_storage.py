"""Storage on real databases: a SQLite file, and PostgreSQL where its server answers."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, text

from core.domain import ReadingKind, ReadingStatus
from core.events import ButtonPressed, ChatRef, decode_replies
from core.periods import Period
from core.ports import Claim, NewReading, Submission
from core.register import parse_register
from core.service import ConversationService
from bot.dialogs.table import CONVERSATION
from storage.database import migrate, read_only
from storage.models import ReadingRow, ResidentRow
from storage.readings_export import accepted_readings
from storage.register_store import import_register
from tests.conftest import KYIV
from tests.fakes import FakeUnitOfWork, Store
from tests.talk import Talk

DEMO = Path(__file__).resolve().parent.parent / "demo" / "register.csv"
NOW = datetime(2026, 11, 20, 12, tzinfo=KYIV)
LATER = NOW + timedelta(seconds=30)
PHOTO = "0123456789abcdef0123456789abcdef.jpg"


async def load_demo(app) -> None:
    async with app.uow_factory() as uow:
        await import_register(uow.session, parse_register(DEMO.read_bytes(), app.suppliers))
        await uow.commit()


async def link_and_submit(talk: Talk) -> None:
    await talk.start()
    await talk.press("btn_accounts")
    await talk.press("btn_link")
    await talk.press("supplier_button", name=talk.service._suppliers["heat"].names)
    await talk.say("100000000000001")
    await talk.say("1234.56")
    await talk.press("btn_submit")
    await talk.say("1525,5")
    await talk.press("btn_unchanged")
    await talk.press("btn_unchanged")


async def test_migrations_apply_once_and_again_without_change(sql_app):
    await migrate(sql_app.engine)
    async with sql_app.engine.connect() as conn:
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert version == "0010"


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sql_app):
    if sql_app.engine.dialect.name != "sqlite":
        return
    async with sql_app.engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one() == 30000


async def test_the_whole_conversation_stores_a_confirmed_submission(sql_app):
    await load_demo(sql_app)
    talk = Talk(sql_app.service, "console", "42")
    await link_and_submit(talk)
    await talk.press("btn_confirm")
    assert talk.keys == ["receipt", "menu"]
    async with sql_app.uow_factory() as uow:
        rows = await accepted_readings(uow.session, "heat", Period(2026, 11))
    assert [(r[2], r[6], r[7], r[8], r[10]) for r in rows] == [
        ("HT-0001", Decimal("1525.5"), Decimal("1520.125"), Decimal("5.375"), "console"),
        ("HW-1001", Decimal("312.4"), Decimal("312.4"), Decimal("0"), "console"),
        ("HW-1002", Decimal("98.75"), Decimal("98.75"), Decimal("0"), "console"),
    ]
    assert isinstance(rows[0][9], datetime) and rows[0][9].astimezone(KYIV) == NOW


async def test_the_session_survives_a_new_app_on_the_same_database(sql_app, database_url):
    from bot.bootstrap import build_app
    from bot.settings import Settings

    await load_demo(sql_app)
    talk = Talk(sql_app.service, "console", "43")
    await link_and_submit(talk)
    restarted = await build_app(Settings(database_url=database_url, clock=NOW, _env_file=None))
    try:
        again = Talk(restarted.service, "console", "43")
        await again.press_payload(talk.button("btn_confirm").payload)
        assert again.keys == ["receipt", "menu"]
    finally:
        await restarted.close()


async def test_one_accepted_reading_per_meter_and_period_is_enforced_by_the_database(sql_app):
    await load_demo(sql_app)
    async with sql_app.uow_factory() as uow:
        account = await uow.accounts.find("heat", "100000000000001")
        meter = account.meters[0]
        for n in range(3):
            replaced = await uow.readings.submit(Submission(
                account.id, None, Period(2026, 11), "console", f"KM-REF-{n}", NOW, ReadingStatus.ACCEPTED,
                (NewReading(meter.id, Decimal(1521 + n), Decimal("1520.125"), None, ReadingKind.TYPED),)))
            assert replaced == (0 if n == 0 else 1)
        await uow.commit()
    async with sql_app.uow_factory() as uow:
        statuses = (await uow.session.execute(
            select(ReadingRow.status, func.count()).group_by(ReadingRow.status))).all()
        assert dict(statuses) == {"accepted": 1, "replaced": 2}
        try:
            uow.session.add(ReadingRow(submission_id=1, meter_id=meter.id, period="2026-11", value=Decimal(1),
                                       kind="typed", status="accepted", submitted_at=NOW))
            await uow.session.flush()
        except Exception as exc:  # the unique partial index refuses a second accepted reading
            assert "unique" in str(exc).lower()
        else:
            raise AssertionError("a second accepted reading for one meter and period was stored")


async def test_forgetting_keeps_readings_without_the_resident(sql_app):
    await load_demo(sql_app)
    talk = Talk(sql_app.service, "console", "44")
    await link_and_submit(talk)
    await talk.press("btn_confirm")
    await talk.say("/help")
    await talk.press("btn_forget")
    await talk.press("btn_forget_yes")
    async with sql_app.uow_factory() as uow:
        assert (await uow.session.execute(select(func.count()).select_from(ResidentRow))).scalar_one() == 0
        assert len(await accepted_readings(uow.session, "heat", Period(2026, 11))) == 3


async def test_an_inbound_event_is_handled_once(sql_app):
    async with sql_app.uow_factory() as uow:
        assert await uow.inbox.record_many("telegram", [("100", '{"update_id": 100}')], NOW) == {"100"}
        assert await uow.inbox.record_many("telegram", [("100", '{"update_id": 100}')], NOW) == set()
        await uow.commit()
    async with sql_app.uow_factory() as uow:
        assert await uow.inbox.claim("telegram", Claim("p1", LATER), NOW, 10) == [("100", '{"update_id": 100}')]
        await uow.commit()
    chat = ChatRef("telegram", "5")
    first = await sql_app.service.handle(ButtonPressed(chat, "menu"), inbound_id="100")
    again = await sql_app.service.handle(ButtonPressed(chat, "menu"), inbound_id="100")
    assert first.replies and not again.replies and again.duplicate
    async with sql_app.uow_factory() as uow:
        assert await uow.inbox.claim("telegram", Claim("p2", LATER), LATER + timedelta(seconds=1), 10) == []


async def test_two_processes_stepping_one_resident_do_not_lose_a_transition(sql_app):
    """Two services (as two processes would) share only the database: its lock must serialise them."""
    await load_demo(sql_app)
    talk = Talk(sql_app.service, "console", "45")
    await link_and_submit(talk)
    other = ConversationService(sql_app.uow_factory, CONVERSATION, sql_app.suppliers, sql_app.clock, KYIV)
    payload = talk.button("btn_confirm").payload
    results = await asyncio.gather(*(
        service.handle(ButtonPressed(talk.chat, payload)) for service in [sql_app.service, other] * 5))
    assert sum(r.replies[0].text.key == "receipt" for r in results) == 1
    async with sql_app.uow_factory() as uow:
        assert len(await accepted_readings(uow.session, "heat", Period(2026, 11))) == 3


async def test_concurrent_residents_all_get_their_state_stored(sql_app):
    talks = [Talk(sql_app.service, "telegram", str(n)) for n in range(30)]
    await asyncio.gather(*(t.start() for t in talks))
    await asyncio.gather(*(t.press("btn_help") for t in talks))
    async with sql_app.uow_factory() as uow:
        sessions = (await uow.session.execute(select(ResidentRow.session))).scalars().all()
    assert len(sessions) == 30 and all('"step": "help"' in s for s in sessions)


async def test_link_failures_and_locks_are_kept(sql_app):
    async with sql_app.uow_factory() as uow:
        for minutes in range(3):
            await uow.link_attempts.record_failure("heat", "1", NOW - timedelta(minutes=minutes))
        await uow.link_attempts.lock("heat", "1", NOW + timedelta(hours=24))
        await uow.commit()
    async with sql_app.uow_factory() as uow:
        assert await uow.link_attempts.failures_since("heat", "1", NOW - timedelta(minutes=1, seconds=30)) == 2
        assert await uow.link_attempts.locked_until("heat", "1") == NOW + timedelta(hours=24)


async def replaced_and_unchanged(uow_factory, account) -> dict[int, tuple[object, ...]]:
    """The heating meter handed in as replaced, hot water as unchanged; what storage gives back per meter."""
    heating, hot = account.meters[0].id, account.meters[1].id
    async with uow_factory() as uow:
        await uow.readings.submit(Submission(
            account.id, None, Period(2026, 11), "console", "KM-REF-NEW", NOW, ReadingStatus.ACCEPTED, (
                NewReading(heating, Decimal("3.5"), Decimal("1520.125"), None, ReadingKind.REPLACED,
                           new_serial="HT-9001", new_installed=date(2026, 11, 12), new_start=Decimal("0.125")),
                NewReading(hot, Decimal("312.4"), Decimal("312.4"), Decimal(0), ReadingKind.UNCHANGED))))
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.readings.in_period([heating, hot], Period(2026, 11))
        assert [r.new_serial for r in await uow.readings.history(heating, 12)] == ["HT-9001"]
    return {r.meter_id: (r.kind, r.new_serial, r.new_installed, r.new_start) for r in stored}


async def test_a_replaced_meter_keeps_the_new_meters_serial_date_and_start(sql_app):
    await load_demo(sql_app)
    async with sql_app.uow_factory() as uow:
        account = await uow.accounts.find("heat", "100000000000001")
    stored = await replaced_and_unchanged(sql_app.uow_factory, account)
    assert stored == {
        account.meters[0].id: (ReadingKind.REPLACED, "HT-9001", date(2026, 11, 12), Decimal("0.125")),
        account.meters[1].id: (ReadingKind.UNCHANGED, None, None, None),
    }


async def test_the_fake_keeps_a_replaced_meter_as_sql_does():
    store = Store()
    account = store.add_account("heat", "100000000000001", meters=[
        {"serial": "HT-0001", "service": "heating"}, {"serial": "HW-1001", "service": "hot_water"}])
    stored = await replaced_and_unchanged(lambda: FakeUnitOfWork(store), account)
    assert stored == {
        account.meters[0].id: (ReadingKind.REPLACED, "HT-9001", date(2026, 11, 12), Decimal("0.125")),
        account.meters[1].id: (ReadingKind.UNCHANGED, None, None, None),
    }


async def test_the_export_tells_how_each_value_came_about_and_bills_a_new_meter_from_its_start(sql_app):
    await load_demo(sql_app)
    async with sql_app.uow_factory() as uow:
        heat = await uow.accounts.find("heat", "100000000000001")
        water = await uow.accounts.find("water", "20000001")
        await uow.readings.submit(Submission(
            heat.id, None, Period(2026, 11), "telegram", "KM-REF-H", NOW, ReadingStatus.ACCEPTED, (
                NewReading(heat.meters[0].id, Decimal("3.5"), Decimal("1520.125"), None, ReadingKind.REPLACED,
                           new_serial="HT-9001", new_installed=date(2026, 11, 12), new_start=Decimal("0.125")),
                NewReading(heat.meters[1].id, Decimal("2"), Decimal("312.4"), None, ReadingKind.REPLACED),
                NewReading(heat.meters[2].id, Decimal("120"), Decimal("98.75"), Decimal("21.25"), ReadingKind.TYPED,
                           evidence=PHOTO))))
        await uow.photos.add(PHOTO, 1, NOW)
        await uow.readings.submit(Submission(
            water.id, None, Period(2026, 11), "viber", "KM-REF-W", NOW, ReadingStatus.ACCEPTED, (
                NewReading(water.meters[0].id, Decimal("3"), Decimal("99998"), Decimal("5"), ReadingKind.ROLLOVER),)))
        await uow.commit()
    async with sql_app.uow_factory() as uow:
        heat_rows = await accepted_readings(uow.session, "heat", Period(2026, 11))
        water_rows = await accepted_readings(uow.session, "water", Period(2026, 11))
    assert [(r.meter, r.kind, r.consumption, r.photo, r.new_serial, r.new_installed) for r in heat_rows] == [
        ("HT-0001", ReadingKind.REPLACED, Decimal("3.375"), None, "HT-9001", date(2026, 11, 12)),
        ("HW-1001", ReadingKind.REPLACED, None, None, None, None),  # the new meter's start is not known
        ("HW-1002", ReadingKind.TYPED, Decimal("21.25"), PHOTO, None, None),  # the name to fetch it by
    ]
    assert [(r.kind, r.consumption, r.photo) for r in water_rows] == [(ReadingKind.ROLLOVER, Decimal("5"), None)]


async def test_a_household_member_replacing_readings_is_told_to_the_first_through_the_outbox(sql_app):
    await load_demo(sql_app)
    first, second = Talk(sql_app.service, "console", "51"), Talk(sql_app.service, "console", "52")
    await link_and_submit(first)
    await first.press("btn_confirm")
    await link_and_submit(second)
    assert "іншим членом домогосподарства" in second.text()
    await second.press("btn_confirm")
    async with sql_app.uow_factory() as uow:
        waiting = [e for e in await uow.outbox.pending("console", 10) if e.chat == first.chat]
        readings = await uow.readings.in_period([1, 2, 3, 4, 5, 6, 7, 8], Period(2026, 11))
    assert [decode_replies(e.body)[0].text.key for e in waiting] == ["readings_replaced_by_household"]
    assert readings and {r.submitted_by for r in readings} == {(await _resident_id(sql_app, second.chat))}
    assert all(r.submitted_at.utcoffset() == timedelta(0) for r in readings)  # storage gives UTC back


async def _resident_id(app, chat: ChatRef) -> int:
    async with app.uow_factory() as uow:
        return (await uow.residents.get_or_create(chat)).id


async def test_pictures_are_kept_byte_for_byte_for_a_week_then_dropped_when_another_is_stored(sql_app):
    from storage.pictures import SqlPictures

    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40  # every byte value, NUL included
    now = [NOW]
    pictures = SqlPictures(sql_app.uow_factory, read_only(sql_app.engine), lambda: now[0])
    olena = ChatRef("viber", "01234567890A=")
    await pictures.put("first.png", png, olena)
    now[0] = NOW + timedelta(days=7)
    await pictures.put("second.png", b"\x89PNG 2", olena)
    assert await pictures.get("first.png") == png  # exactly a week: still kept
    assert await pictures.get("unknown.png") is None
    now[0] = NOW + timedelta(days=7, seconds=1)
    await pictures.put("third.png", b"\x89PNG 3", olena)
    assert (await pictures.get("first.png"), await pictures.get("second.png")) == (None, b"\x89PNG 2")


async def test_forget_me_deletes_the_pictures_sent_to_the_resident_and_no_one_else_s(sql_app):
    from storage.pictures import SqlPictures

    pictures = SqlPictures(sql_app.uow_factory, read_only(sql_app.engine), lambda: NOW)
    talk = Talk(sql_app.service, "viber", "01234567890A=")
    await talk.start()
    await pictures.put("olena.png", b"\x89PNG her payment QR", talk.chat)
    await pictures.put("petro.png", b"\x89PNG his chart", ChatRef("viber", "petro"))
    await pictures.put("console.png", b"\x89PNG same id, another channel", ChatRef("console", "01234567890A="))
    await talk.press("btn_help")
    await talk.press("btn_forget")
    await talk.press("btn_forget_yes")
    assert await pictures.get("olena.png") is None
    assert await pictures.get("petro.png") is not None and await pictures.get("console.png") is not None


async def test_a_picture_is_served_while_a_writer_holds_the_database(sql_app):
    """Viber's fetch must not wait behind an import or a long step (nor a step behind it) on SQLite."""
    olena = ChatRef("viber", "01234567890A=")
    await sql_app.pictures.put("chart.png", b"\x89PNG chart", olena)
    async with sql_app.uow_factory() as uow:
        await uow.session.execute(text("UPDATE accounts SET address = address"))  # holds the write lock
        assert await asyncio.wait_for(sql_app.pictures.get("chart.png"), 2) == b"\x89PNG chart"
