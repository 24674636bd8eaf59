"""The register imported at city scale: streamed, checked whole on both databases, merged in bulk."""

from __future__ import annotations

import csv
import io
import os
import pty
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.domain import ReadingKind, ReadingStatus
from core.periods import Period
from core.ports import NewReading, Submission
from core.register import COLUMNS, Problems, RegisterError, register_rows
from storage.models import AccountRow, MeterRow
from storage.readings_export import accepted_readings
from storage.register_store import ImportResult, import_register_rows
from tests.register_files import write_register
from tests.test_cli_e2e import DEMO, ROOT, run
from tests.test_storage import NOW

HEADER = ",".join(COLUMNS) + "\n"
TODAY = date(2026, 11, 20)


async def import_text(app, text: str, name: str = "r.csv") -> ImportResult:
    problems = Problems(name)
    rows = register_rows(io.StringIO(text, newline=""), app.suppliers, problems, today=TODAY)
    return await import_register_rows(app.engine, rows, problems, app.suppliers, app.clock())


async def refused(app, text: str) -> list[str]:
    with pytest.raises(RegisterError) as caught:
        await import_text(app, text)
    async with app.engine.connect() as connection:
        assert (await connection.execute(select(func.count()).select_from(AccountRow))).scalar_one() == 0
    return caught.value.problems


async def test_a_generated_register_imports_and_again_changes_nothing(sql_app, tmp_path):
    path = tmp_path / "register.csv"
    rows = write_register(path, 400)
    first = await import_text(sql_app, path.read_text())
    assert (first.accounts, first.accounts_added, first.meters, first.meters_added) == (800, 800, rows, rows)
    again = await import_text(sql_app, path.read_text())
    assert (again.accounts_unchanged, again.meters_unchanged) == (800, rows)
    assert again.accounts_added + again.accounts_updated + again.meters_added + again.meters_updated == 0
    assert again.meters_retired == 0


async def test_a_changed_register_updates_what_changed_and_retires_what_is_gone(sql_app, tmp_path):
    before, after = tmp_path / "before.csv", tmp_path / "after.csv"
    write_register(before, 300)
    write_register(after, 300, changed=0.1)
    await import_text(sql_app, before.read_text())
    result = await import_text(sql_app, after.read_text())
    gone = _serials(before) - _serials(after)
    new = _serials(after) - _serials(before)
    assert gone and new
    assert result.meters_retired == len(gone) and result.meters_added == len(new)
    assert result.accounts_updated > 0 and result.accounts_added == 0
    async with sql_app.engine.connect() as connection:
        retired = {(serial, zone) for serial, zone in await connection.execute(
            select(MeterRow.serial, MeterRow.zone).where(MeterRow.retired_at.is_not(None)))}
        total = (await connection.execute(select(func.count()).select_from(MeterRow))).scalar_one()
    assert retired == gone
    assert total == len(_serials(before) | new)  # nothing deleted
    back = await import_text(sql_app, before.read_text())  # the meters come back into service
    assert back.meters_retired == len(new) and back.meters_updated >= len(gone)


def _serials(path) -> set[tuple[str, str]]:
    """(serial, zone) of each meter row."""
    return {(row["meter"], row["zone"]) for row in csv.DictReader(io.StringIO(path.read_text(), newline=""))}


async def test_a_retired_meter_keeps_its_readings_in_the_export_and_is_no_longer_asked_for(sql_app, tmp_path):
    await import_text(sql_app, DEMO.read_text())
    async with sql_app.uow_factory() as uow:
        account = await uow.accounts.find("heat", "100000000000001")
        assert account is not None
        meter = next(m for m in account.meters if m.serial == "HW-1002")
        await uow.readings.submit(Submission(
            account.id, None, Period(2026, 11), "console", "KM-REF-1", NOW, ReadingStatus.ACCEPTED,
            (NewReading(meter.id, Decimal("99"), Decimal("98.75"), Decimal("0.25"), ReadingKind.TYPED),)))
        await uow.commit()
    without = "".join(line for line in DEMO.read_text().splitlines(True) if "HW-1002" not in line)
    result = await import_text(sql_app, without)
    assert result.meters_retired == 1
    async with sql_app.uow_factory() as uow:
        account = await uow.accounts.find("heat", "100000000000001")
        assert account is not None and [m.serial for m in account.meters] == ["HT-0001", "HW-1001"]
        exported = await accepted_readings(uow.session, "heat", Period(2026, 11))
    assert [(r.meter, r.reading) for r in exported] == [("HW-1002", Decimal("99"))]


@pytest.mark.parametrize("row, problem", [
    ("heat,100000000000001,\"Kyiv\x00\",1,,M,heating,,1,2026-01-01",
     "r.csv:2: address holds a control character (such as a NUL byte)"),
    ("heat,100000000000001,Kyiv,1,,{},heating,,1,2026-01-01".format("S" * 5000),
     "r.csv:2: meter is 5000 characters long; at most 40"),
    ("heat,100000000000001,{},1,,M,heating,,1,2026-01-01".format("a" * 200_000),
     "r.csv:2: a field is longer than 131072 characters: not a register row"),
])
async def test_a_hostile_cell_is_one_clear_line_on_either_database(sql_app, row, problem):
    good = 'heat,100000000000002,"Kyiv, 1 St",15,1234.56,HT-1,heating,,1520.125,2026-10-28\n'
    assert await refused(sql_app, HEADER + row + "\n" + good) == [problem]


async def test_a_repeated_column_is_refused_not_taken_from_its_last_copy(sql_app):
    assert await refused(sql_app, HEADER.rstrip("\n") + ",zone\n" + "heat,1,a,1,,M,heating,,1,2026-01-01,day\n") == [
        "r.csv:1: column(s) named more than once: zone"]


async def test_one_broken_line_near_the_end_of_a_large_file_refuses_all_of_it(sql_app, tmp_path):
    path = tmp_path / "register.csv"
    rows = write_register(path, 2_000)
    lines = path.read_text().splitlines(True)
    lines[-3] = lines[-3].replace(",2026-", ",2027-")  # a last reading dated in the future
    found = await refused(sql_app, "".join(lines))
    assert found == [f"r.csv:{rows - 1}: last_reading_date '2027-10-28' is in the future (today is 2026-11-20)"]


async def test_a_file_of_many_problems_lists_the_first_thousand_and_counts_the_rest(sql_app):
    text = HEADER + "oil,1,a,1,,M,heating,,1,2026-01-01\n" * 3000
    found = await refused(sql_app, text)
    assert len(found) == 1001 and found[0].startswith("r.csv:2: unknown supplier 'oil'")
    assert found[999].startswith("r.csv:1001:") and found[1000] == "r.csv: … and 2000 more problem(s)"


async def test_accounts_that_conflict_across_pages_of_the_staging_table_are_found(sql_app, tmp_path):
    path = tmp_path / "register.csv"
    write_register(path, 5_000)  # 25,000 rows: more than one page read back
    lines = path.read_text().splitlines(True)
    lines.append(lines[1].replace("HT-0", "HT-X").replace("Kyiv,", "Lviv,"))
    found = await refused(sql_app, "".join(lines))
    assert found == [f"r.csv:{len(lines)}: account 100000000000000 conflicts with line 2 (address differ)"]


def test_the_command_prints_no_progress_when_not_on_a_terminal_and_a_line_when_it_is(env, tmp_path):
    path = tmp_path / "register.csv"
    write_register(path, 50)
    piped = run(env, "accounts", "import", str(path))
    assert piped.returncode == 0 and "\r" not in piped.stderr and "checking…" not in piped.stderr
    primary, secondary = pty.openpty()
    try:
        done = subprocess.run([sys.executable, str(ROOT / "run_bot.py"), "accounts", "import", str(path)],
                              env=env, stdout=subprocess.PIPE, stderr=secondary, text=True, timeout=120)
        os.close(secondary)
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the terminal's other side is closed: all read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(primary)
    assert done.returncode == 0
    assert f"\r{path}: checking… 250 rows".encode() in shown and shown.endswith(b"\r\x1b[K")
    assert "250 meter row(s): added 0" in done.stdout  # the piped run imported them


def test_a_cell_over_the_csv_limit_is_refused_by_the_command_without_a_traceback(env, tmp_path):
    path = tmp_path / "register.csv"
    path.write_text(DEMO.read_text() + "heat,100000000000009," + "x" * 140_000 + ",1,,M,heating,,1,2026-01-01\n")
    result = run(env, "accounts", "import", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{path}:9: a field is longer than 131072 characters: not a register row",
        f"{path}: refused, nothing imported (1 problem(s))"]
