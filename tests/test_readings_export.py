"""The supplier's export at city scale: streamed from the database, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from contextlib import aclosing
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.domain import ReadingKind, ReadingStatus
from core.periods import Period
from bot.cli import spreadsheet_text
from storage.models import AccountRow, MeterRow, PhotoRow, ReadingRow, SubmissionRow
from storage.readings_export import BATCH_ROWS, accepted_readings, stream_accepted_readings
from tests.test_cli_e2e import run

NOVEMBER = Period(2026, 11)
HANDED_IN = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)


async def seed_accepted_readings(engine: AsyncEngine, count: int, chunk: int = 10_000) -> None:
    """``count`` accepted heat readings of November straight in with bulk Core INSERTs, as a city's would be.

    Account n has a heating meter (id 2n-1) and a hot water meter (id 2n) and hands both in with one submission;
    every 10th reading is of a replaced meter, every 7th came with a photo.
    """
    accounts = (count + 1) // 2
    await _insert(engine, AccountRow, accounts, chunk, lambda a: dict(
        id=a, supplier="heat", number=f"{a:015d}", address="Kyiv", apartment=str(a), last_payment=Decimal("1234.56")))
    await _insert(engine, MeterRow, count, chunk, lambda n: dict(
        id=n, account_id=(n + 1) // 2, serial=f"{'HT' if n % 2 else 'HW'}-{(n + 1) // 2:07d}",
        service="heating" if n % 2 else "hot_water", zone="", last_reading=_previous(n),
        last_reading_date=date(2026, 10, 28)))
    await _insert(engine, SubmissionRow, accounts, chunk, lambda a: dict(
        id=a, reference=f"KM-2611-{a:06X}", account_id=a, resident_id=None, period=str(NOVEMBER),
        channel="telegram" if a % 2 else "viber", submitted_at=HANDED_IN + timedelta(seconds=a)))
    await _insert(engine, ReadingRow, count, chunk, _reading)
    await _insert(engine, PhotoRow, count // 7, chunk, lambda k: dict(
        id=k, name=photo_name(7 * k), resident_id=None, received_at=HANDED_IN))


def photo_name(n: int) -> str:
    return f"{n:032x}.jpg"


def _previous(n: int) -> Decimal:
    return Decimal(n % 90_000) + Decimal("0.125")


def _reading(n: int) -> dict[str, Any]:
    replaced = n % 10 == 0
    value = Decimal("3.5") if replaced else _previous(n) + Decimal(n % 30)
    return dict(id=n, submission_id=(n + 1) // 2, meter_id=n, period=str(NOVEMBER), value=value,
                previous_value=_previous(n), consumption=None if replaced else value - _previous(n),
                kind=(ReadingKind.REPLACED if replaced else ReadingKind.TYPED).value,
                status=ReadingStatus.ACCEPTED.value, evidence=photo_name(n) if n % 7 == 0 else None,
                submitted_at=HANDED_IN + timedelta(seconds=(n + 1) // 2),
                accepted_at=HANDED_IN + timedelta(seconds=(n + 1) // 2),
                new_serial=f"NM-{n}" if replaced else None, new_installed=date(2026, 11, 12) if replaced else None,
                new_start=Decimal("0.125") if replaced else None)


async def _insert(engine: AsyncEngine, table: Any, count: int, chunk: int, row: Any) -> None:
    for first in range(1, count + 1, chunk):
        async with engine.begin() as conn:
            await conn.execute(insert(table), [row(n) for n in range(first, min(first + chunk, count + 1))])


async def seeded(env, count: int) -> AsyncEngine:
    """The migrated database of ``env`` with ``count`` readings; the caller disposes of the engine."""
    from bot.bootstrap import build_app
    from bot.settings import Settings

    app = await build_app(Settings(_env_file=None, database_url=env["KOMUNALKA_DATABASE_URL"]))
    await seed_accepted_readings(app.engine, count)
    return app.engine


def exported(env, out) -> tuple[str, list[dict[str, str]]]:
    result = run(env, "readings", "export", "--supplier", "heat", "--period", "2026-11", "--out", str(out))
    assert result.returncode == 0, result.stderr
    with out.open(encoding="utf-8", newline="") as f:
        return result.stderr, list(csv.DictReader(f))


@pytest.mark.parametrize(("cell", "shown"), [
    ('=HYPERLINK("http://x.example","y")', '\'=HYPERLINK("http://x.example","y")'),
    ("+1", "'+1"),
    ("-2", "'-2"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("HT-0001", "HT-0001"),
    ("A=1", "A=1"),
    ("", ""),
])
def test_a_text_cell_a_spreadsheet_would_run_gets_a_single_quote_first(cell, shown):
    assert spreadsheet_text(cell) == shown


# meter serial from the register, new serial from a resident, and the numbers handed in
HOSTILE = [
    ('=HYPERLINK("http://x.example","y")', "=1+2", "1525.5", "1520.125", "5.375"),
    ("+1", "+380", "312.4", "312.4", "0"),
    ("-2", "-2", "98", "100", "-2"),  # a consumption of -2 is a number and stays one
    ("@x", "@SUM(A1)", "7", "6.5", "0.5"),
    ("\tx", "\t=1", "3", "2", "1"),
    ('A,"B"\nC', "\r=1", "4", "4", "0"),  # a comma, quotes and a line break: quoted, not split
]


async def test_formula_like_serials_open_as_text_and_numbers_and_dates_as_they_are(env, tmp_path):
    engine = await seeded(env, len(HOSTILE))
    try:
        async with engine.begin() as conn:
            for n, (serial, new_serial, value, previous, used) in enumerate(HOSTILE, start=1):
                await conn.execute(update(MeterRow).where(MeterRow.id == n).values(serial=serial))
                await conn.execute(update(ReadingRow).where(ReadingRow.id == n).values(
                    new_serial=new_serial, value=Decimal(value), previous_value=Decimal(previous),
                    consumption=Decimal(used), new_installed=date(2026, 11, 12)))
    finally:
        await engine.dispose()
    out = tmp_path / "heat.csv"
    stderr, rows = exported(env, out)
    assert stderr == f"{out}: 6 reading(s)\n"
    assert sorted((r["meter"], r["new_serial"], r["reading"], r["previous_reading"], r["consumption"])
                  for r in rows) == sorted([
        ('\'=HYPERLINK("http://x.example","y")', "'=1+2", "1525.5", "1520.125", "5.375"),
        ("'+1", "'+380", "312.4", "312.4", "0"),
        ("'-2", "'-2", "98", "100", "-2"),
        ("'@x", "'@SUM(A1)", "7", "6.5", "0.5"),
        ("'\tx", "'\t=1", "3", "2", "1"),
        ('A,"B"\nC', "'\r=1", "4", "4", "0"),
    ])
    assert {(r["account"], r["submitted_at"], r["new_installed"]) for r in rows} == {
        ("000000000000001", "2026-11-20T12:00:01+02:00", "2026-11-12"),
        ("000000000000002", "2026-11-20T12:00:02+02:00", "2026-11-12"),
        ("000000000000003", "2026-11-20T12:00:03+02:00", "2026-11-12")}
    assert '"A,""B""\nC"' in out.read_text(encoding="utf-8")


async def test_the_streamed_export_gives_exactly_the_rows_of_the_list_in_order(sql_app):
    count = 2 * BATCH_ROWS + 3  # batches end inside an account's pair of meters
    await seed_accepted_readings(sql_app.engine, count)
    async with sql_app.uow_factory() as uow:
        async with aclosing(stream_accepted_readings(uow.session, "heat", NOVEMBER)) as rows:
            streamed = [row async for row in rows]
        listed = await accepted_readings(uow.session, "heat", NOVEMBER)
    assert streamed == listed
    assert len({(r.account, r.meter) for r in streamed}) == count
    assert [(r.account, r.meter) for r in streamed] == sorted((r.account, r.meter) for r in streamed)
    tenth = next(r for r in streamed if r.meter == "HW-0000005")
    assert (tenth.kind, tenth.reading, tenth.consumption, tenth.new_serial, tenth.photo) == (
        ReadingKind.REPLACED, Decimal("3.5"), Decimal("3.375"), "NM-10", None)
    seventh = next(r for r in streamed if r.meter == "HT-0000004")
    assert seventh.photo == photo_name(7)  # the name `run_bot.py photos get` takes


async def test_an_export_stopped_early_leaves_the_session_able_to_read_it_all(sql_app):
    await seed_accepted_readings(sql_app.engine, BATCH_ROWS + 1)
    async with sql_app.uow_factory() as uow:
        async with aclosing(stream_accepted_readings(uow.session, "heat", NOVEMBER)) as rows:
            first = []
            async for row in rows:
                first.append(row)
                if len(first) == 3:
                    break
        assert [r.meter for r in first] == ["HT-0000001", "HW-0000001", "HT-0000002"]
        assert len(await accepted_readings(uow.session, "heat", NOVEMBER)) == BATCH_ROWS + 1
        assert await accepted_readings(uow.session, "water", NOVEMBER) == []


async def test_thousands_of_readings_go_to_a_file_and_to_standard_output_alike(env, tmp_path):
    count = 5003
    engine = await seeded(env, count)
    await engine.dispose()
    out = tmp_path / "heat.csv"
    stderr, rows = exported(env, out)
    assert stderr == f"{out}: {count} reading(s)\n"
    assert len(rows) == count and len({r["meter"] for r in rows}) == count
    assert rows[0] == {
        "supplier": "heat", "account": "000000000000001", "meter": "HT-0000001", "service": "heating", "zone": "",
        "period": "2026-11", "reading": "2.125", "previous_reading": "1.125", "consumption": "1",
        "submitted_at": "2026-11-20T12:00:01+02:00", "channel": "telegram", "reference": "KM-2611-000001",
        "kind": "reading", "new_meter": "", "photo": "", "new_serial": "", "new_installed": ""}
    assert rows[-1]["meter"] == "HT-0002502" and rows[-1]["reading"] == "5026.125"
    to_stdout = run(env, "readings", "export", "--supplier", "heat", "--period", "2026-11")
    assert to_stdout.returncode == 0 and to_stdout.stderr == ""
    assert list(csv.DictReader(io.StringIO(to_stdout.stdout))) == rows
    assert [p.name for p in tmp_path.iterdir() if "heat.csv" in p.name] == ["heat.csv"]


async def test_an_export_in_progress_on_sqlite_leaves_the_bot_free_to_write(sql_app, tmp_path):
    if sql_app.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL readers never hold writers back")
    import sqlite3

    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.database import read_only

    await seed_accepted_readings(sql_app.engine, BATCH_ROWS + 1)
    async with AsyncSession(read_only(sql_app.engine)) as session, \
            aclosing(stream_accepted_readings(session, "heat", NOVEMBER)) as rows:
        first = await anext(rows)
        path = sql_app.engine.url.database
        assert path is not None
        bot = sqlite3.connect(path, timeout=1, isolation_level=None)  # another writer, as the running bot is
        try:
            bot.execute("BEGIN IMMEDIATE")  # "database is locked" after a second if the export held the lock
            bot.execute("UPDATE accounts SET address = 'Kyiv, 2 St' WHERE id = 1")
            bot.execute("COMMIT")
        finally:
            bot.close()
        rest = [row async for row in rows]
    assert first.account == f"{1:015d}" and len(rest) == BATCH_ROWS  # the export's snapshot, whole
