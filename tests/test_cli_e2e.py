"""run_bot.py as a process: the console conversation and the operator's commands."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from core.domain import ReadingKind, ReadingStatus
from core.periods import Period
from core.ports import NewReading, Submission
from core.register import parse_register
from storage.register_store import import_register

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo" / "register.csv"
DEMO_PAYMENTS = ROOT / "demo" / "payments.csv"
PHOTO = "5f0c9a2e41b7d3864c1e0a9b7d2f3e41.jpg"


def run(env, *args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "run_bot.py"), *args], input=stdin, env=env, cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=120)


CONVERSATION = "\n".join([
    "2",  # my accounts
    "1",  # link an account
    "Тепло та гаряча вода",  # pressing a button by its label
    "100 000 000 000 001",
    "1234,56",
    "1",  # submit readings
    "1525,5",
    "Без змін",
    "#1",  # unchanged: a bare "1" would be the reading itself
    "✅ Підтвердити",
]) + "\n"


def test_help_lists_the_commands(env):
    result = run(env, "--help")
    assert result.returncode == 0
    for command in ("run", "console", "accounts", "readings"):
        assert command in result.stdout


def test_a_demo_conversation_on_the_console_ends_with_a_receipt_and_the_export_shows_it(env, tmp_path):
    result = run(env, "console", "--demo", stdin=CONVERSATION, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Рахунок Тепло та гаряча вода •••0001 додано" in result.stdout
    assert "Номер квитанції: KM-2611-" in result.stdout
    assert "Traceback" not in result.stderr
    export = run(env, "readings", "export", "--supplier", "heat", "--period", "2026-11")
    rows = list(csv.DictReader(io.StringIO(export.stdout)))
    assert [(r["meter"], r["reading"], r["previous_reading"], r["consumption"], r["channel"]) for r in rows] == [
        ("HT-0001", "1525.5", "1520.125", "5.375", "console"),
        ("HW-1001", "312.4", "312.4", "0", "console"),
        ("HW-1002", "98.75", "98.75", "0", "console"),
    ]
    assert rows[0]["submitted_at"] == "2026-11-20T12:00:00+02:00"
    assert rows[0]["reference"].startswith("KM-2611-")
    assert [(r["kind"], r["new_meter"], r["photo"], r["new_serial"], r["new_installed"]) for r in rows] == [
        ("reading", "", "", "", ""), ("unchanged", "", "", "", ""), ("unchanged", "", "", "", "")]


def test_the_console_continues_where_the_resident_left_off(env, tmp_path):
    run(env, "console", "--demo", stdin="\n".join(CONVERSATION.splitlines()[:7]) + "\n", cwd=tmp_path)
    result = run(env, "console", stdin="", cwd=tmp_path)
    assert result.returncode == 0
    assert "Лічильник 2 з 3" in result.stdout


def test_export_with_no_readings_is_a_header_alone_and_can_go_to_a_file(env, tmp_path):
    out = tmp_path / "out.csv"
    result = run(env, "readings", "export", "--supplier", "gas", "--period", "2026-11", "--out", str(out))
    assert result.returncode == 0
    assert out.read_text() == ("supplier,account,meter,service,zone,period,reading,previous_reading,consumption,"
                               "submitted_at,channel,reference,kind,new_meter,photo,new_serial,new_installed\n")


async def hand_in_a_replaced_meter(url: str) -> None:
    """The demo register, and heat readings for November: a replaced meter, another without its start, a photo."""
    from bot.bootstrap import build_app
    from bot.settings import Settings

    app = await build_app(Settings(_env_file=None, database_url=url))
    try:
        async with app.uow_factory() as uow:
            await import_register(uow.session, parse_register(DEMO.read_bytes(), app.suppliers))
            heat = await uow.accounts.find("heat", "100000000000001")
            assert heat is not None
            ht, hw1, hw2 = (m.id for m in heat.meters)
            await uow.readings.submit(Submission(
                heat.id, None, Period(2026, 11), "telegram", "KM-2611-NEW001",
                datetime(2026, 11, 20, 10, tzinfo=timezone.utc), ReadingStatus.ACCEPTED, (
                    NewReading(ht, Decimal("3.5"), Decimal("1520.125"), None, ReadingKind.REPLACED, PHOTO,
                               new_serial="HT-9001", new_installed=date(2026, 11, 12), new_start=Decimal("0.125")),
                    NewReading(hw1, Decimal("2"), Decimal("312.4"), None, ReadingKind.REPLACED, new_serial="HW-9"),
                    NewReading(hw2, Decimal("99"), Decimal("98.75"), Decimal("0.25"), ReadingKind.TYPED))))
            await uow.photos.add(PHOTO, 1, datetime(2026, 11, 20, 10, tzinfo=timezone.utc))
            await uow.commit()
    finally:
        await app.close()


async def test_export_says_how_each_value_came_about_and_what_replaced_the_meter(env):
    await hand_in_a_replaced_meter(env["KOMUNALKA_DATABASE_URL"])
    result = run(env, "readings", "export", "--supplier", "heat", "--period", "2026-11")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith(",channel,reference,kind,new_meter,photo,new_serial,new_installed")
    assert lines[1:] == [
        "heat,100000000000001,HT-0001,heating,,2026-11,3.5,1520.125,3.375,2026-11-20T12:00:00+02:00,telegram,"
        f"KM-2611-NEW001,replaced,yes,{PHOTO},HT-9001,2026-11-12",  # the photo's name, to fetch it by
        "heat,100000000000001,HW-1001,hot_water,,2026-11,2,312.4,,2026-11-20T12:00:00+02:00,telegram,"
        "KM-2611-NEW001,replaced,yes,,HW-9,",
        "heat,100000000000001,HW-1002,hot_water,,2026-11,99,98.75,0.25,2026-11-20T12:00:00+02:00,telegram,"
        "KM-2611-NEW001,reading,,,,",
    ]


REPLACED = "\n".join([
    "2", "1", "Тепло та гаряча вода", "100 000 000 000 001", "1234,56",  # link the heat account
    "1",  # submit readings
    "14",  # below 1520.125
    "Лічильник замінили",
    "NM-7",  # the new meter's serial
    "05.11.2026",  # installed
    "2",  # its reading when installed
    "Пропустити",  # no photo of the act
    "Без змін",
    "Без змін",
    "✅ Підтвердити",
]) + "\n"


def test_a_meter_replaced_in_the_console_is_exported_with_the_new_meter(env, tmp_path):
    result = run(env, "console", "--demo", stdin=REPLACED, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Номер квитанції: KM-2611-" in result.stdout
    row = heat_export(env, "2026-11")[0]
    assert {k: row[k] for k in ("meter", "reading", "consumption", "kind", "new_meter", "photo", "new_serial",
                                "new_installed")} == {
        "meter": "HT-0001", "reading": "14", "consumption": "12", "kind": "replaced", "new_meter": "yes",
        "photo": "", "new_serial": "NM-7", "new_installed": "2026-11-05"}


def unwritable(tmp_path: Path, case: str) -> Path:
    if case == "missing directory":
        return tmp_path / "no" / "such" / "out.csv"
    if case == "a directory":
        return tmp_path
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() == 0:  # root writes anywhere it has permission bits for; sysfs refuses it new files
        return Path("/sys/komunalka-export.csv")
    return locked / "out.csv"


@pytest.mark.parametrize("case", ["missing directory", "a directory", "no permission"])
def test_export_to_a_path_that_cannot_be_written_says_so_in_one_line(env, tmp_path, case):
    target = unwritable(tmp_path, case)
    before = sorted(p.name for p in target.parent.iterdir()) if target.parent.is_dir() else None
    result = run(env, "readings", "export", "--supplier", "heat", "--period", "2026-11", "--out", str(target))
    assert result.returncode == 1
    reason = {"missing directory": "No such file or directory", "a directory": "Is a directory",
              "no permission": "Permission denied"}[case]
    assert result.stderr.splitlines() == [f"{target}: cannot write: {reason}"]
    after = sorted(p.name for p in target.parent.iterdir()) if target.parent.is_dir() else None
    assert after == before  # nothing half-written left behind


def test_an_export_over_an_earlier_file_replaces_it_and_leaves_nothing_beside_it(env, tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("the export of last month\n")
    result = run(env, "readings", "export", "--supplier", "heat", "--period", "2026-11", "--out", str(out))
    assert result.returncode == 0 and out.read_text().startswith("supplier,account")
    assert [p.name for p in tmp_path.iterdir() if "out.csv" in p.name] == ["out.csv"]


def test_export_refuses_a_bad_period_or_supplier(env):
    assert "YYYY-MM" in run(env, "readings", "export", "--supplier", "gas", "--period", "11.2026").stderr
    assert "unknown supplier 'oil'" in run(env, "readings", "export", "--supplier", "oil", "--period", "2026-11").stderr


def test_import_prints_what_it_imported_and_again_changes_nothing(env):
    first = run(env, "accounts", "import", str(DEMO))
    assert first.returncode == 0
    assert first.stdout == (f"{DEMO}: 4 account(s): added 4, updated 0, unchanged 0; 7 meter row(s): added 7, "
                            "updated 0, unchanged 0; meters retired 0 (no longer listed; kept with their readings)\n")
    again = run(env, "accounts", "import", str(DEMO))
    assert "4 account(s): added 0, updated 0, unchanged 4; 7 meter row(s): added 0, updated 0, unchanged 7" \
        in again.stdout


def test_a_bad_register_is_refused_whole_with_line_numbers_and_no_traceback(env, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(DEMO.read_text() + "oil,1,a,1,,M,gas,,1,2026-01-01\nheat,1,a,1,,M,heating,,x,2026-01-01\n")
    result = run(env, "accounts", "import", str(bad))
    assert result.returncode == 1
    assert f"{bad}:9: unknown supplier 'oil'" in result.stderr
    assert f"{bad}:10: account '1' does not match" in result.stderr
    assert f"{bad}:10: last_reading 'x' is not a heating reading" in result.stderr  # every problem of a line
    assert "refused, nothing imported (3 problem(s))" in result.stderr
    assert "Traceback" not in result.stderr
    good = run(env, "accounts", "import", str(DEMO))
    assert "4 account(s): added 4" in good.stdout  # nothing of the bad file went in


def test_a_register_nobody_could_use_is_refused_as_of_the_city_date(env, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(DEMO.read_text() + "electricity,40000002,,,,EL-9,electricity,day,1,2026-11-21\n")
    # 22:30 UTC on the 20th is already the 21st in Kyiv: that reading date is not in the future
    result = run({**env, "KOMUNALKA_CLOCK": "2026-11-20T22:30:00+00:00"}, "accounts", "import", str(bad))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{bad}:9: empty address",
        f"{bad}:9: neither last_payment nor apartment: a resident could not prove the account is theirs",
        f"{bad}:9: meter EL-9 of account 40000002 has zone(s) 'day' (line(s) 9); "
        "a two-zone meter needs one row for each of day, night",
        f"{bad}: refused, nothing imported (3 problem(s))",
    ]
    earlier = run({**env, "KOMUNALKA_CLOCK": "2026-11-20T21:30:00+00:00"}, "accounts", "import", str(bad))
    assert f"{bad}:9: last_reading_date '2026-11-21' is in the future (today is 2026-11-20)" in earlier.stderr


def test_payments_import_counts_new_rows_and_again_changes_nothing(env, tmp_path):
    first = run(env, "payments", "import", str(DEMO_PAYMENTS))
    assert first.returncode == 0, first.stderr
    assert first.stdout == (f"{DEMO_PAYMENTS}: 33 row(s) in the file; new 33, already imported 0; accounts not in "
                            "the register: 3 (their rows are kept and shown once the register has them)\n")
    run(env, "accounts", "import", str(DEMO))
    extra = tmp_path / "more.csv"
    extra.write_text(DEMO_PAYMENTS.read_text() + "heat,100000000000001,2026-11-10,1234.56,payment\n"
                     "gas,3000000001,2026-11-15,890.00,payment\n")
    again = run(env, "payments", "import", str(extra))
    assert again.stdout == (f"{extra}: 35 row(s) in the file; new 2, already imported 33; accounts not in the "
                            "register: 0 (their rows are kept and shown once the register has them)\n")
    assert "new 0, already imported 35" in run(env, "payments", "import", str(extra)).stdout


def test_a_bad_payments_file_is_refused_whole_with_every_problem_and_its_line(env, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(DEMO_PAYMENTS.read_text() + "heat,100000000000001,2026-11-21,5,payment\n"
                   "oil,1,20.11.2026,-5,gift\n")
    result = run(env, "payments", "import", str(bad))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{bad}:35: date '2026-11-21' is in the future (today is 2026-11-20)",
        f"{bad}:36: unknown supplier 'oil'; known: heat, water, gas, electricity",
        f"{bad}:36: date '20.11.2026' is not a date YYYY-MM-DD",
        f"{bad}:36: kind 'gift' is not one of payment, charge, balance",
        f"{bad}: refused, nothing imported (4 problem(s))",
    ]
    assert "new 33, already imported 0" in run(env, "payments", "import", str(DEMO_PAYMENTS)).stdout
    assert "cannot read" in run(env, "payments", "import", str(tmp_path / "none.csv")).stderr


def test_the_console_demo_shows_the_balance_and_the_payments_and_pays_by_qr_code(env, tmp_path):
    result = run({**env, "TMPDIR": str(tmp_path)}, "console", "--demo",
                 stdin="\n".join(CONVERSATION.splitlines()[:5] + ["7", "#1"]) + "\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    shown = result.stdout.replace("\u00a0", " ")
    assert "Станом на 01.11.2026 до сплати: 1 468,12 грн." in shown
    assert "Після 01.11.2026 надійшли оплати (у залишку їх ще немає):\n• 10.11.2026 — оплата 1 234,56 грн" in shown
    assert "Оплачено разом: 11 565,46 грн\nНараховано разом: 11 799,02 грн" in shown
    assert "#1) 💳 Сплатити 233,56 грн" in shown  # what the payment after the balance left owed
    # the demo's example payment details: the QR code saved to a file (in the temporary directory), its link printed
    assert "Отримувач: ДЕМО: приклад отримувача (тепло)" in shown
    link = next(line for line in shown.splitlines() if line.startswith("https://qr.bank.gov.ua/"))
    saved = sorted(tmp_path.rglob("payment-qr-*.png"))
    assert len(saved) == 1 and str(saved[0].name) in shown
    assert [b.text for b in zxingcpp.read_barcodes(Image.open(saved[0]))] == [link]


def test_a_missing_register_file_is_named(env, tmp_path):
    result = run(env, "accounts", "import", str(tmp_path / "none.csv"))
    assert result.returncode == 1 and "cannot read" in result.stderr


def test_run_without_tokens_names_the_variables_and_points_at_the_console(env):
    result = run(env, "run")
    assert result.returncode == 2
    assert "KOMUNALKA_TELEGRAM_TOKEN" in result.stderr and "KOMUNALKA_VIBER_TOKEN" in result.stderr
    assert "console" in result.stderr
    assert run(env).returncode == 2  # run is the default


def test_a_bad_supplier_file_is_refused_at_start(env, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[suppliers.heat.window]\nopens_day = 0\n")
    result = run({**env, "KOMUNALKA_SUPPLIERS_FILE": str(path)}, "console", stdin="")
    assert result.returncode == 2
    assert "supplier configuration error" in result.stderr and "days count from 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_is_refused_with_its_variable_name(env):
    result = run({**env, "KOMUNALKA_TIMEZONE": "Mars/Olympus"}, "console", stdin="")
    assert result.returncode == 2
    assert "KOMUNALKA_TIMEZONE" in result.stderr and "Traceback" not in result.stderr


def test_settings_are_read_from_a_dotenv_file(env, tmp_path):
    del env["KOMUNALKA_DATABASE_URL"]
    (tmp_path / ".env").write_text(f"KOMUNALKA_DATABASE_URL=sqlite+aiosqlite:///{tmp_path / 'fromenv.db'}\n")
    run(env, "accounts", "import", str(DEMO), cwd=tmp_path)
    assert (tmp_path / "fromenv.db").exists()


def test_logs_of_a_conversation_carry_no_account_numbers(env, tmp_path):
    result = run({**env, "KOMUNALKA_LOG_LEVEL": "DEBUG"}, "console", "--demo", stdin=CONVERSATION, cwd=tmp_path)
    assert "100000000000001" not in result.stderr and "1234,56" not in result.stderr


KEEP = "\n".join([
    "2", "1", "Тепло та гаряча вода", "100 000 000 000 001", "1234,56",  # link the heat account
    "1",  # submit readings: heat opens on the 5th
    "Зберегти й передати пізніше",
    "1525,5",
    "Без змін",
    "Без змін",
    "✅ Підтвердити",
]) + "\n"


def kept_on_the_3rd(env, cwd: Path) -> str:
    """The console resident keeps heat readings on 3 November; the reference they were given."""
    result = run({**env, "KOMUNALKA_CLOCK": "2026-11-03T12:00:00+02:00"}, "console", "--demo", stdin=KEEP, cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert "Показники збережено" in result.stdout
    reference = re.search(r"Номер: (KM-2611-[A-Z0-9]{6})", result.stdout)
    assert reference is not None, result.stdout
    return reference.group(1)


def heat_export(env, period: str) -> list[dict[str, str]]:
    result = run(env, "readings", "export", "--supplier", "heat", "--period", period)
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_kept_readings_are_handed_in_when_the_console_starts_inside_the_window(env, tmp_path):
    reference = kept_on_the_3rd(env, tmp_path)
    assert heat_export(env, "2026-11") == []
    opened = {**env, "KOMUNALKA_CLOCK": "2026-11-05T10:00:00+02:00"}
    result = run(opened, "console", stdin="", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert ("✅ Збережені показники передано постачальнику (Тепло та гаряча вода •••0001, період 11.2026). "
            f"Номер квитанції: {reference}.") in result.stdout
    assert "Головне меню" in result.stdout  # and then where the resident is
    rows = heat_export(opened, "2026-11")
    assert [(r["meter"], r["reading"], r["reference"]) for r in rows] == [
        ("HT-0001", "1525.5", reference), ("HW-1001", "312.4", reference), ("HW-1002", "98.75", reference)]
    assert rows[0]["submitted_at"] == "2026-11-05T10:00:00+02:00"  # accepted when handed in
    again = run(opened, "console", stdin="", cwd=tmp_path)
    assert "передано постачальнику" not in again.stdout


def test_kept_readings_whose_window_closed_unseen_expire_and_the_resident_is_told(env, tmp_path):
    kept_on_the_3rd(env, tmp_path)
    december = {**env, "KOMUNALKA_CLOCK": "2026-12-06T10:00:00+02:00"}
    result = run(december, "console", stdin="1\n", cwd=tmp_path)  # 1: the notice's button
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert ("Збережені показники не передано (Тепло та гаряча вода •••0001, період 11.2026): "
            "прийом закрився 30.11.2026") in out
    assert "Зараз триває прийом показників за 12.2026, до 31.12.2026" in out
    assert "  #1) 📝 Передати показники •••0001" in out
    assert "Лічильник 1 з 3" in out.split("> 1", 1)[1]  # the button works: December's submission begins
    assert "100000000000001" not in out + result.stderr
    assert heat_export(december, "2026-11") == []
    again = run(december, "console", stdin="", cwd=tmp_path)
    assert "не передано" not in again.stdout


def test_the_operator_lists_set_aside_replies_and_events_and_puts_replies_back(env, tmp_path):
    import asyncio
    from datetime import datetime, timezone

    from core.events import ChatRef
    from bot.bootstrap import build_app
    from bot.settings import Settings

    async def set_aside() -> int:
        app = await build_app(Settings(_env_file=None, database_url=env["KOMUNALKA_DATABASE_URL"]))
        at = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
        async with app.uow_factory() as uow:
            row = await uow.outbox.add(ChatRef("telegram", "5"), "uk", "[]", at)
            await uow.outbox.set_aside(row, "TelegramBadRequest", at)
            await uow.inbox.record_many("viber", [("4912661846655238145", "{}")], at)
            await uow.inbox.set_aside("viber", "4912661846655238145", "AttributeError", 1, at)
            await uow.commit()
        await app.close()
        return row

    assert run(env, "outbox", "failed").stdout == "No replies are set aside.\n"
    row = asyncio.run(set_aside())
    listed = run(env, "outbox", "failed").stdout.splitlines()
    assert listed[1] == f"{row}\ttelegram\t2026-11-20 12:00\t2026-11-20 12:00\t0\tTelegramBadRequest"  # Kyiv time
    events = run(env, "inbox", "failed").stdout.splitlines()
    assert events[1].startswith("4912661846655238145\tviber\t") and events[1].endswith("\t1\tAttributeError")
    assert run(env, "outbox", "retry", "12x").returncode == 2  # not an id: refused, with a message
    retried = run(env, "outbox", "retry", str(row))
    assert retried.returncode == 0 and retried.stdout.startswith("1 reply back in the queue")
    assert run(env, "outbox", "failed").stdout == "No replies are set aside.\n"
    assert run(env, "outbox", "retry", str(row)).returncode == 1  # nothing of that id was set aside
