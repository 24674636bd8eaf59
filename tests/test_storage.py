"""Storage on real databases: a SQLite file, and PostgreSQL where its server answers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select, text

from core.domain import ReadingKind, ReadingStatus
from core.events import ButtonPressed, ChatRef
from core.periods import Period
from core.ports import Claim, NewReading, Submission
from core.register import parse_register
from core.service import ConversationService
from bot.dialogs.table import CONVERSATION
from storage.database import migrate
from storage.models import ReadingRow, ResidentRow
from storage.register_store import accepted_readings, import_register
from tests.conftest import KYIV
from tests.talk import Talk

DEMO = Path(__file__).resolve().parent.parent / "demo" / "register.csv"
NOW = datetime(2026, 11, 20, 12, tzinfo=KYIV)
LATER = NOW + timedelta(seconds=30)


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
    assert version == "0003"


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
