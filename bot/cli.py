"""The operator's command line: `run_bot.py [run | console | accounts import | payments import | readings export]`."""

from __future__ import annotations

import argparse
import asyncio
import csv
import errno
import logging
import os
import sys
import time
from collections.abc import AsyncIterable, Callable, Sequence
from contextlib import aclosing
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO, TypeVar
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import ReadingKind
from core.payments import COLUMNS as PAYMENT_COLUMNS, parse_payments
from core.periods import Period
from core.ports import FailedRow
from core.register import Problems, RegisterError, register_rows
from core.supplier_config import SupplierConfigError
from bot.bootstrap import App, build_app
from bot.kept_readings import hand_in_kept_readings
from bot.settings import Settings
from storage.readings_export import EXPORT_COLUMNS, ExportRow, stream_accepted_readings
from storage.database import read_only, schema_revision
from storage.register_store import import_register_rows

log = logging.getLogger("komunalka")


def log_handler() -> logging.Handler:
    """Log lines to stderr, stamped in UTC and saying so (2026-12-07T05:12:52.123Z): an operator reading them
    beside the database's UTC times, or another machine's logs, need not guess the zone."""
    formatter = logging.Formatter("%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s",
                                  datefmt="%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    return handler
DEMO_REGISTER = Path(__file__).resolve().parent.parent / "demo" / "register.csv"
DEMO_PAYMENTS = DEMO_REGISTER.with_name("payments.csv")
DEMO_SUPPLIERS = DEMO_REGISTER.with_name("suppliers.toml")  # the defaults with example payment details
T = TypeVar("T")
EXPORT_KINDS = {ReadingKind.TYPED: "reading", ReadingKind.UNCHANGED: "unchanged", ReadingKind.ROLLOVER: "rollover",
                ReadingKind.REPLACED: "replaced"}  # the export's words for how a value came about
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what makes a spreadsheet read a cell as a formula


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
    photos = commands.add_parser("photos", help="residents' meter photos, by the name the export gives") \
        .add_subparsers(dest="photos_command", metavar="ACTION", required=True)
    get = photos.add_parser("get", help="write a kept photo to a file")
    get.add_argument("name", help="the photo's name, from the export's photo column")
    get.add_argument("--out", type=Path, help="the file to write (default: NAME in this folder; - for stdout)")
    purge = photos.add_parser("purge", help="remove photos past the retention (KOMUNALKA_PHOTO_RETENTION_DAYS), "
                                            "photos abandoned with a draft, and files without a record")
    purge.add_argument("--dry-run", action="store_true", help="count what would be removed; remove nothing")
    commands.add_parser("migrate", help="apply the database migrations and exit (every command applies them first; "
                                        "this one only that, for a deployment step before the bot processes start)")
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
                        handlers=[log_handler()])
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
        if command == "photos":
            return await _photos(app, args)
        if command == "migrate":  # build_app applied them
            print(f"database schema at revision {await schema_revision(app.engine)}")
            return 0
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
                         charts=app.charts, photos=app.photos).run(sys.stdin)
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
    except RegisterError as exc:  # the billing file's
        _refused(path, exc.problems, len(exc.problems))
        return None


def _refused(path: Path, problems: list[str], count: int) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{path}: refused, nothing imported ({count} problem(s))", file=sys.stderr)


async def _import(app: App, path: Path, quiet: bool = False) -> int:
    """The register streamed from the file: checked whole (nothing stored when any line is wrong), merged."""
    today = app.clock().astimezone(app.settings.zone).date()
    problems = Problems(str(path))
    progress = _ProgressLine(path) if not quiet and sys.stderr.isatty() else None
    try:
        with path.open(encoding="utf-8-sig", newline="") as lines:
            result = await import_register_rows(app.engine, register_rows(lines, app.suppliers, problems, today=today),
                                                problems, app.suppliers, app.clock(),
                                                progress.show if progress else lambda _stage, _done: None)
    except OSError as exc:
        print(f"{path}: cannot read: {exc.strerror}", file=sys.stderr)
        return 1
    except RegisterError as exc:
        _refused(path, exc.problems, problems.count)
        return 1
    finally:
        if progress:
            progress.clear()
    if not quiet:
        print(f"{path}: {result.accounts} account(s): added {result.accounts_added}, updated "
              f"{result.accounts_updated}, unchanged {result.accounts_unchanged}; {result.meters} meter row(s): "
              f"added {result.meters_added}, updated {result.meters_updated}, unchanged {result.meters_unchanged}; "
              f"meters retired {result.meters_retired} (no longer listed; kept with their readings)")
    return 0


class _ProgressLine:
    """One line on the terminal, rewritten at most twice a second, for imports that take minutes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._shown = 0.0

    def show(self, stage: str, done: int) -> None:
        now = time.monotonic()
        if now - self._shown >= 0.5:
            self._shown = now
            print(f"\r{self._path}: {stage}… {done:,} rows\033[K", end="", file=sys.stderr, flush=True)

    def clear(self) -> None:
        if self._shown:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


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
    # read-only: on SQLite an export of a million rows must not hold the running bot's writes back
    async with AsyncSession(read_only(app.engine)) as session, \
            aclosing(stream_accepted_readings(session, args.supplier, period)) as rows:
        if not args.out:
            await _write_csv(sys.stdout, rows, app.settings.zone)
            return 0
        try:
            count = await _write_file(args.out, rows, app.settings.zone)
        except OSError as exc:
            print(f"{args.out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            return 1
    print(f"{args.out}: {count} reading(s)", file=sys.stderr)
    return 0


async def _write_file(path: Path, rows: AsyncIterable[ExportRow], zone: ZoneInfo) -> int:
    """Write beside the target and rename: a failed export leaves neither a partial file nor a clobbered one."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
    if path.exists() and not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            count = await _write_csv(out, rows, zone)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return count


async def _photos(app: App, args: argparse.Namespace) -> int:
    from bot.photos.operator import kept_photo
    from bot.photos.purge import purge_photos

    if app.photos is None:  # build_app always makes it
        raise RuntimeError("no photo store")
    if args.photos_command == "purge":
        retention = timedelta(days=app.settings.photo_retention_days)
        done = await purge_photos(app.uow_factory, app.photos.store, app.clock(), retention, args.dry_run)
        verb = "would remove" if args.dry_run else "removed"
        print(f"photos {verb}: {done.recorded} past the retention ({app.settings.photo_retention_days} days) or "
              f"abandoned with a draft, {done.unrecorded} without a record, {done.partial} unfinished write(s)")
        return 0
    data = await kept_photo(app, args.name)
    if data is None:
        print(f"no photo {args.name!r} is kept (a name from the export's photo column; removed photos are gone)",
              file=sys.stderr)
        return 1
    if str(args.out) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    out = args.out or Path(args.name)
    try:
        out.write_bytes(data)
    except OSError as exc:
        print(f"{out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"{out}: {len(data)} bytes", file=sys.stderr)
    return 0


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


async def _write_csv(out: TextIO, rows: AsyncIterable[ExportRow], zone: ZoneInfo) -> int:
    """The export as CSV, each row written as the database hands it over; how many readings it held."""
    write = _csv_rows(out)
    write(EXPORT_COLUMNS)
    count = 0
    text = spreadsheet_text
    async for r in rows:
        replaced = r.kind is ReadingKind.REPLACED
        write([text(r.supplier), text(r.account), text(r.meter), text(r.service), text(r.zone), r.period,
               _num(r.reading), _num(r.previous_reading), _num(r.consumption),
               r.submitted_at.astimezone(zone).isoformat(), text(r.channel), text(r.reference),
               EXPORT_KINDS[r.kind], "yes" if replaced else "", r.photo or "",
               text(r.new_serial or ""), r.new_installed.isoformat() if r.new_installed else ""])
        count += 1
    return count


def _csv_rows(out: TextIO) -> Callable[[Sequence[str]], object]:
    """A CSV row writer, lines ending in a newline, that quotes a cell holding a comma, a quote or a line break.

    Python 3.11's csv.writer quotes only for the characters of its own line terminator, so a carriage return
    inside a cell would go out bare and split the row for every reader: a row holding one has all of its cells
    quoted, which reads back the same.
    """
    minimal = csv.writer(out, lineterminator="\n")
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    return lambda cells: (quoted if "\r" in "".join(cells) else minimal).writerow(cells)


def spreadsheet_text(cell: str) -> str:
    """A text cell that a spreadsheet shows as text rather than runs as a formula.

    Excel, LibreOffice and Google Sheets take a cell that starts with = + - @ (or a tab or carriage return) for
    a formula, so a meter serial like ``=HYPERLINK(...)`` from the register or a resident would run on the
    operator's machine when the export is opened. OWASP's CSV Injection guidance: put a single quote before
    such a cell. Numbers and dates never come here: a negative consumption is a number, not a formula.
    """
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _num(value: object) -> str:
    return "" if value is None else f"{value:f}"
