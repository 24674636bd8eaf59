"""Reminder broadcast: send rate against a rate-limited fake Bot API, and selecting due residents.

Part 1 puts N residents due for a campaign in a new SQLite database and runs the campaign against a
local fake Bot API that enforces 30 messages a second (and one a second per chat) with real 429
answers. It prints the achieved send rate as a fraction of the limit, the 429s met and the
residents who got more than one reminder.

Part 2 fills a database with 1,000,000 residents due for a campaign (each with an account and a
meter) and pages through them as a campaign does, printing the time and the peak memory the
selection allocated; the same for 100,000 residents shows that memory does not grow with their number.

    .venv/bin/python bench/broadcast.py [--residents 1500] [--sizes 100000,1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.periods import Period  # noqa: E402
from bot.bootstrap import App, build_app  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.delivery.supervisor import LoopHealth  # noqa: E402
from bot.reminders import PlatformSender, ReminderRunner  # noqa: E402
from bot.serve import build_pipelines  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.telegram.channel import TelegramChannel  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.reminder_seed import seed  # noqa: E402

KYIV = ZoneInfo("Europe/Kyiv")
CLOSING_DAY = datetime(2026, 11, 27, 10, 0, tzinfo=KYIV)
LIMIT = 30


async def send_rate(residents: int, workdir: Path) -> None:
    api = FakeTelegram(global_rate=LIMIT, per_chat_rate=1)
    await api.start()
    app = await build_app(Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{workdir / 'rate.db'}",
                                   telegram_token=api.token, telegram_api_url=api.url, clock=CLOSING_DAY,
                                   telegram_rate=LIMIT))
    try:
        await seed(app, residents)
        channel = TelegramChannel(app, Metrics())
        [pipeline] = build_pipelines(app, [channel], Metrics(), LoopHealth())
        runner = ReminderRunner(app, {"telegram": PlatformSender(pipeline, LIMIT, 1)})
        started = time.monotonic()
        report = await runner.run_due()
        elapsed = time.monotonic() - started
        await channel.close()
    finally:
        await app.close()
        await api.stop()
    sent = api.sent()
    received = Counter(int(c.params["chat_id"]) for c in sent)
    span = sent[-1].at - sent[0].at
    rate = (len(sent) - 1) / span
    print(f"send rate: {len(sent)} reminders in {elapsed:.1f} s; {rate:.2f} messages/s = "
          f"{rate / LIMIT:.3f} of the {LIMIT}/s limit")
    print(f"429 answers met: {api.too_many}; residents reminded twice: {sum(n > 1 for n in received.values())}; "
          f"not reminded: {residents - len(received)}; campaign finished: {report.campaigns[0].finished}")


def fill(path: Path, residents: int) -> None:
    """Residents, accounts, meters and links straight into SQLite: SQLAlchemy would take minutes."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    now = "2026-11-01 00:00:00.000000"
    rows = range(1, residents + 1)
    db.executemany("INSERT INTO residents (id, channel, external_id, language, reachable, session, created_at, "
                   "updated_at) VALUES (?, 'telegram', ?, 'uk', 1, '{}', ?, ?)",
                   ((n, str(10_000_000 + n), now, now) for n in rows))
    db.executemany("INSERT INTO accounts (id, supplier, number, address, apartment, last_payment) "
                   "VALUES (?, 'heat', ?, 'Kyiv', ?, 100000)", ((n, f"{n:015d}", str(n)) for n in rows))
    db.executemany("INSERT INTO meters (id, account_id, serial, service, zone, last_reading, last_reading_date) "
                   "VALUES (?, ?, ?, 'heating', '', 10000, '2026-10-28')", ((n, n, f"HT-{n}") for n in rows))
    db.executemany("INSERT INTO links (id, resident_id, account_id, created_at) VALUES (?, ?, ?, ?)",
                   ((n, n, n, now) for n in rows))
    db.commit()
    db.execute("ANALYZE")
    db.close()


async def selection(residents: int, workdir: Path) -> None:
    path = workdir / f"select-{residents}.db"
    app = await build_app(Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{path}"))
    await app.close()
    started = time.monotonic()
    fill(path, residents)
    filled = time.monotonic() - started
    app = await build_app(Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{path}"))
    try:
        elapsed, first_page, seen, pages = await page_through(app)
        tracemalloc.start()  # a second pass, traced: tracing slows Python, so the time comes from the first
        await page_through(app)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        await app.close()
    print(f"selection of {residents:,} due residents: first page in {first_page * 1000:.0f} ms, all {seen:,} in "
          f"{elapsed:.1f} s ({pages} pages of up to 1000; database filled in {filled:.0f} s); "
          f"peak memory allocated while paging: {peak / 2**20:.1f} MiB")


async def page_through(app: App) -> tuple[float, float, int, int]:
    started = time.monotonic()
    first_page = 0.0
    after, seen, pages = 0, 0, 0
    while True:
        async with app.uow_factory() as uow:
            page = await uow.campaigns.due_residents("heat", Period(2026, 11), "closing", date(2026, 11, 27),
                                                     after, 1000, ["telegram", "viber"])
        if not page:
            break
        if not pages:
            first_page = time.monotonic() - started
        after = page[-1].resident_id
        seen += len(page)
        pages += 1
    return time.monotonic() - started, first_page, seen, pages


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1500)
    parser.add_argument("--sizes", default="100000,1000000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await send_rate(args.residents, Path(tmp))
        for size in (int(s) for s in args.sizes.split(",") if s):
            await selection(size, Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
