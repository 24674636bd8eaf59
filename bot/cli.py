"""The operator's command line: `run_bot.py [run | console | accounts import | payments import | readings export]`."""

from __future__ import annotations

import argparse
import asyncio
import csv
import errno
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO, TypeVar
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from core.domain import ReadingKind
from core.payments import COLUMNS as PAYMENT_COLUMNS, parse_payments
from core.periods import Period
from core.ports import FailedRow
from core.register import RegisterError, parse_register
from core.supplier_config import SupplierConfigError
from bot.bootstrap import App, build_app
from bot.kept_readings import hand_in_kept_readings
from bot.settings import Settings
from storage.register_store import EXPORT_COLUMNS, ExportRow, accepted_readings, import_register

log = logging.getLogger("komunalka")
DEMO_REGISTER = Path(__file__).resolve().parent.parent / "demo" / "register.csv"
DEMO_PAYMENTS = DEMO_REGISTER.with_name("payments.csv")
DEMO_SUPPLIERS = DEMO_REGISTER.with_name("suppliers.toml")  # the defaults with example payment details
T = TypeVar("T")
EXPORT_KINDS = {ReadingKind.TYPED: "reading", ReadingKind.UNCHANGED: "unchanged", ReadingKind.ROLLOVER: "rollover",
                ReadingKind.REPLACED: "replaced"}  # the export's words for how a value came about


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_bot.py",
        description="Komunalka: a Telegram and Viber bot through which residents hand in utility meter readings. "
                    "Configured by KOMUNALKA_* environment variables or a .env file (see README.md).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="serve the configured channels and send reminders on schedule (the default)")
    console = commands.add_parser("console", help="chat with the bot on this terminal as a local resident; "
                                     "press a button with #1, #2… (a bare number only where nothing is typed)")
    console.add_argument("--demo", action="store_true",
                         help="load the demo register and billing (demo/register.csv, demo/payments.csv) first")
    console.add_argument("--chat", default="local", help="the console resident's id (default: local)")
    accounts = commands.add_parser("accounts", help="the account register").add_subparsers(
        dest="accounts_command", metavar="ACTION", required=True)
    imp = accounts.add_parser("import", help="import a supplier's register (UTF-8 CSV)")
    imp.add_argument("file", type=Path, help="CSV with header " + ",".join(
        ("supplier", "account", "address", "apartment", "last_payment", "meter", "service", "zone",
         "last_reading", "last_reading_date")))
    payments = commands.add_parser("payments", help="payments, charges and balances from the supplier's billing") \
        .add_subparsers(dest="payments_command", metavar="ACTION", required=True)
    pay = payments.add_parser("import", help="import a supplier's billing file (UTF-8 CSV); importing the same "
                                             "file again changes nothing")
    pay.add_argument("file", type=Path, help="CSV with header " + ",".join(PAYMENT_COLUMNS) + "; kind is payment, "
                                             "charge or balance (see README.md)")
    readings = commands.add_parser("readings", help="accepted readings").add_subparsers(
        dest="readings_command", metavar="ACTION", required=True)
    exp = readings.add_parser("export", help="export accepted readings of one supplier and period as CSV")
    exp.add_argument("--supplier", required=True, help="supplier id, e.g. heat")
    exp.add_argument("--period", required=True, help="billing period YYYY-MM")
    exp.add_argument("--out", type=Path, help="write to this file instead of standard output")
    outbox = commands.add_parser("outbox", help="replies set aside because they could not be sent").add_subparsers(
        dest="outbox_command", metavar="ACTION", required=True)
    outbox.add_parser("failed", help="list replies set aside (rejected by the platform, undecodable, too old)")
    retry = outbox.add_parser("retry", help="put set-aside replies back in the queue to be sent again")
    retry.add_argument("ids", nargs="*", type=_row_id, help="row ids from `outbox failed` (default: all of them)")
    inbox = commands.add_parser("inbox", help="inbound events set aside").add_subparsers(
        dest="inbox_command", metavar="ACTION", required=True)
    inbox.add_parser("failed", help="list inbound events set aside (unreadable, or failing every time)")
    remind = commands.add_parser("remind", help="run, once, every reminder campaign due at a moment, and exit")
    remind.add_argument("--at", type=_moment, help="ISO 8601 date and time (default: now); without an offset, "
                                                   "the city's time zone")
    remind.add_argument("--dry-run", action="store_true",
                        help="print how many residents each due campaign would remind; send nothing")
    return parser


def quiet_libraries() -> None:
    """Libraries whose chatter would leak personal data or drown ours: aiosqlite logs every statement's
    parameters (residents' texts, account numbers) at DEBUG."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


def _row_id(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a row id: {text!r}")
    return int(text)


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date and time: {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = "KOMUNALKA_" + "_".join(str(p) for p in error["loc"]).upper()
            print(f"configuration error: {name}: {error['msg']}", file=sys.stderr)
        return 2
    if command == "console" and args.demo and settings.suppliers_file is None:
        settings = settings.model_copy(update={"suppliers_file": DEMO_SUPPLIERS})
    if command == "remind" and args.at is not None:
        at = args.at if args.at.tzinfo else args.at.replace(tzinfo=settings.zone)
        settings = settings.model_copy(update={"clock": at})
    logging.basicConfig(level=logging.WARNING if command == "console" else settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    quiet_libraries()
    try:
        return asyncio.run(_dispatch(command, args, settings))
    except SupplierConfigError as exc:
        print(f"supplier configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def _dispatch(command: str, args: argparse.Namespace, settings: Settings) -> int:
    if command == "run":
        from bot.serve import run_problems

        problems = run_problems(settings)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 2
    app = await build_app(settings)
    try:
        if command == "console":
            return await _console(app, args)
        if command == "accounts":
            return await _import(app, args.file)
        if command == "payments":
            return await _import_payments(app, args.file)
        if command == "readings":
            return await _export(app, args)
        if command == "remind":
            return await _remind(app, args.dry_run)
        if command == "outbox":
            return await _outbox(app, args)
        if command == "inbox":
            return await _inbox_failed(app)
        from bot.serve import serve  # the channels' dependencies load only when serving

        return await serve(app)
    finally:
        await app.close()


async def _console(app: App, args: argparse.Namespace) -> int:
    from bot.console.channel import ConsoleChannel

    if args.demo:
        # the demo's billing dates are fixed; the clock may be set before them (KOMUNALKA_CLOCK)
        code = await _import(app, DEMO_REGISTER, quiet=True) or await _import_payments(app, DEMO_PAYMENTS, demo=True)
        if code:
            return code
        print("Demo register and payments loaded. Link the heat account 100000000000001 with the last payment "
              "1234.56.\n")
    # kept readings are handed in (or expired) by whatever runs first: the console needs no token
    await hand_in_kept_readings(app)
    await ConsoleChannel(app.service, sys.stdout, args.chat, uow_factory=app.uow_factory,
                         charts=app.charts).run(sys.stdin)
    return 0


def _checked(path: Path, parse: Callable[[bytes], T]) -> T | None:
    """A file read and checked whole; None, with every problem on stderr (one a line), when it is refused."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror}", file=sys.stderr)
        return None
    try:
        return parse(raw)
    except RegisterError as exc:  # the register's and the billing file's
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{path}: refused, nothing imported ({len(exc.problems)} problem(s))", file=sys.stderr)
        return None


async def _import(app: App, path: Path, quiet: bool = False) -> int:
    today = app.clock().astimezone(app.settings.zone).date()
    accounts = _checked(path, lambda raw: parse_register(raw, app.suppliers, str(path), today=today))
    if accounts is None:
        return 1
    async with app.uow_factory() as uow:
        result = await import_register(uow.session, accounts)
        await uow.commit()
    if not quiet:
        print(f"{path}: {len(accounts)} account(s) in the file; accounts added {result.accounts_added}, "
              f"updated {result.accounts_updated}; meters added {result.meters_added}, updated "
              f"{result.meters_updated}; unchanged {result.unchanged}")
    return 0


async def _import_payments(app: App, path: Path, demo: bool = False) -> int:
    """The operator's billing file, checked whole; ``demo`` (the console's own file) is quiet and not dated."""
    today = None if demo else app.clock().astimezone(app.settings.zone).date()
    entries = _checked(path, lambda raw: parse_payments(raw, app.suppliers, str(path), today=today))
    if entries is None:
        return 1
    async with app.uow_factory() as uow:
        new = await uow.payments.add(entries, app.clock())
        unregistered = await uow.payments.unregistered({(e.supplier, e.account) for e in entries})
        await uow.commit()
    if not demo:
        print(f"{path}: {len(entries)} row(s) in the file; new {new}, already imported {len(entries) - new}; "
              f"accounts not in the register: {len(unregistered)} (their rows are kept and shown once the "
              "register has them)")
    return 0


async def _export(app: App, args: argparse.Namespace) -> int:
    if args.supplier not in app.suppliers:
        print(f"unknown supplier {args.supplier!r}; known: {', '.join(app.suppliers)}", file=sys.stderr)
        return 2
    try:
        period = Period.parse(args.period)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    async with app.uow_factory() as uow:
        rows = await accepted_readings(uow.session, args.supplier, period)
    if not args.out:
        _write_csv(sys.stdout, rows, app.settings.zone)
        return 0
    try:
        _write_file(args.out, rows, app.settings.zone)
    except OSError as exc:
        print(f"{args.out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"{args.out}: {len(rows)} reading(s)", file=sys.stderr)
    return 0


def _write_file(path: Path, rows: list[ExportRow], zone: ZoneInfo) -> None:
    """Write beside the target and rename: a failed export leaves neither a partial file nor a clobbered one."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
    if path.exists() and not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            _write_csv(out, rows, zone)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


async def _remind(app: App, dry_run: bool) -> int:
    from bot.delivery.supervisor import LoopHealth
    from bot.metrics import Metrics
    from bot.scheduler import run_locked
    from bot.serve import build_channels, build_pipelines, reminder_runner

    metrics = Metrics()
    channels = build_channels(app, metrics)  # Viber needs KOMUNALKA_PUBLIC_URL here as in `run`
    if not channels and not dry_run:
        print("Nothing to send through: set KOMUNALKA_TELEGRAM_TOKEN and/or KOMUNALKA_VIBER_TOKEN "
              "(or use --dry-run).", file=sys.stderr)
        return 2
    pipelines = build_pipelines(app, channels, metrics, LoopHealth())
    runner = reminder_runner(app, pipelines, metrics)
    now = app.clock().astimezone(app.settings.zone)
    stamp = f"{now:%Y-%m-%d %H:%M} {app.settings.timezone}"
    try:
        if runner.quiet.contains(now):
            quiet = runner.quiet
            print(f"{stamp} is within quiet hours ({quiet.start:%H:%M}–{quiet.end:%H:%M}): nothing sent.")
            return 0
        if not dry_run:
            handed_in, expired = await hand_in_kept_readings(app, metrics)
            for pipeline in pipelines:
                await pipeline.outbox.drain_once()  # receipts and anything else waiting
        report = await run_locked(app.engine, runner, dry_run=dry_run)
    finally:
        for channel in channels:
            await channel.close()
    if report is None:
        print(f"{stamp}: another process is running the campaigns; nothing done here.")
        return 0
    print(f"As of {stamp}" + (" (dry run: nothing sent)" if dry_run else ""))
    if not report.campaigns:
        print("No reminder campaign is due.")
    for item in report.campaigns:
        c = item.campaign
        what = f"{c.supplier} {c.period} {c.kind.value} (deadline {c.deadline:%Y-%m-%d})"
        if dry_run:
            print(f"{what}: {item.would_remind} resident(s) would be reminded")
        else:
            state = "finished" if item.finished else "paused, continues on the next run"
            print(f"{what}: {item.sent} sent, {item.unreachable} unreachable, {item.rejected} rejected, "
                  f"{item.retry} to retry" + (f", {item.lost} lost in an earlier crash" if item.lost else "")
                  + f"; {state}")
    if not dry_run:
        print(f"Kept readings handed in: {handed_in}; expired: {expired}; "
              f"verification warnings sent: {report.verification_warnings}")
    return 0


async def _outbox(app: App, args: argparse.Namespace) -> int:
    if args.outbox_command == "retry":
        async with app.uow_factory() as uow:
            count = await uow.outbox.retry(args.ids or None, app.clock())
            await uow.commit()
        print(f"{count} repl{'y' if count == 1 else 'ies'} back in the queue; a running bot sends "
              "them within seconds")
        return 0 if count or not args.ids else 1
    async with app.uow_factory() as uow:
        rows = await uow.outbox.failed(10_000)
    _print_failed(rows, app.settings.zone, "No replies are set aside.")
    return 0


async def _inbox_failed(app: App) -> int:
    async with app.uow_factory() as uow:
        rows = await uow.inbox.failed(10_000)
    _print_failed(rows, app.settings.zone, "No inbound events are set aside.")
    return 0


def _print_failed(rows: list[FailedRow], zone: ZoneInfo, none: str) -> None:
    if not rows:
        print(none)
        return
    print("id\tchannel\tcreated\tset aside\tattempts\terror")
    for r in rows:
        print(f"{r.id}\t{r.channel}\t{r.created_at.astimezone(zone):%Y-%m-%d %H:%M}\t"
              f"{r.failed_at.astimezone(zone):%Y-%m-%d %H:%M}\t{r.attempts}\t{r.error}")


def _write_csv(out: TextIO, rows: list[ExportRow], zone: ZoneInfo) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for r in rows:
        replaced = r.kind is ReadingKind.REPLACED
        writer.writerow([r.supplier, r.account, r.meter, r.service, r.zone, r.period, _num(r.reading),
                         _num(r.previous_reading), _num(r.consumption), r.submitted_at.astimezone(zone).isoformat(),
                         r.channel, r.reference, EXPORT_KINDS[r.kind], "yes" if replaced else "",
                         "yes" if r.photo else "", r.new_serial or "",
                         r.new_installed.isoformat() if r.new_installed else ""])


def _num(value: object) -> str:
    return "" if value is None else f"{value:f}"
