"""One send budget for two processes: a campaign sent by two OS processes at once, per shared store.

Part 1 times the stores' one operation: slots granted one after the other on one connection (the
rate high enough never to wait), next to the plain round trip (SELECT 1, PING), and with 8 asking
at once.

Part 2 puts N residents due for a campaign in a new PostgreSQL database and starts two processes
that both send it at once — the reminder runner's passes, called directly, past the campaign lock —
against a fake Bot API enforcing 30 messages a second and one a second per chat with real 429
answers, while this process sends a few interactive replies through the same budget. It prints the
combined rate as a fraction of the limit, the 429s met, the residents reminded twice or not at all,
and how long the replies waited for their slots; once with the budget in Redis, once in PostgreSQL.

    .venv/bin/python bench/broadcast_two_processes.py [--residents 900] [--budgets redis,postgresql]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres] [--redis-url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.service import Outcome  # noqa: E402
from bot.bootstrap import App, build_app  # noqa: E402
from bot.delivery.send_budget import SendBudget, SlotRequest, SlotStore, budget_key  # noqa: E402
from bot.delivery.slots_redis import RedisSlots  # noqa: E402
from bot.delivery.supervisor import LoopHealth  # noqa: E402
from bot.dialogs.notices import reminder  # noqa: E402
from bot.metrics import Metrics  # noqa: E402
from bot.serve import build_pipelines, reminder_runner  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.telegram.channel import TelegramChannel  # noqa: E402
from storage.database import create_engine  # noqa: E402
from storage.send_slots import PostgresSlots  # noqa: E402
from tests.postgres_admin import postgres_database  # noqa: E402
from tests.campaign_senders import heat_campaign, send_campaign, start_campaign  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402
from tests.reminder_seed import seed  # noqa: E402

KYIV = ZoneInfo("Europe/Kyiv")
CLOSING_DAY = datetime(2026, 11, 27, 10, 0, tzinfo=KYIV)
LIMIT = 30
REPLY_CHATS = 9_000_000  # chats of the interactive replies, apart from the residents'


# part 1: one operation of each store

async def round_trips(kind: str, database_url: str, redis_url: str, count: int) -> None:
    store: SlotStore
    if kind == "redis":
        store = RedisSlots(redis_url)
        from redis.asyncio import Redis

        client = Redis.from_url(redis_url)

        async def plain() -> None:
            await client.ping()
    else:
        store = PostgresSlots(database_url)
        engine = create_engine(database_url, isolation_level="AUTOCOMMIT", pool_size=1)

        async def plain() -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    key = budget_key("telegram", f"bench:{uuid.uuid4().hex}")
    request = SlotRequest(key, 1e-6, None)
    chat_request = SlotRequest(key, 1e-6, f"{key}:chat:x", 1e-6, wait_for_chat=True)
    try:
        for _ in range(50):  # connections open, statements prepared, the script loaded
            await store.take(chat_request)
            await plain()
        timings = {}
        for name, call in (("plain round trip", plain), ("slot (bot only)", lambda: store.take(request)),
                           ("slot (bot and chat)", lambda: store.take(chat_request))):
            started = time.perf_counter()
            for _ in range(count):
                await call()
            timings[name] = (time.perf_counter() - started) / count
        started = time.perf_counter()
        await asyncio.gather(*(store.take(chat_request) for _ in range(count)))  # through the store's pool
        together = count / (time.perf_counter() - started)
    finally:
        await store.close()
        if kind == "redis":
            await client.aclose()
        else:
            await engine.dispose()
    line = "; ".join(f"{name} {t * 1000:.2f} ms ({1 / t:,.0f}/s)" for name, t in timings.items())
    print(f"{kind:10}  one after the other: {line}; all {count} at once: {together:,.0f} slots/s")


# part 2: the campaign

async def child(args: argparse.Namespace) -> None:
    """One sending process: ready, then on "go" the campaign's passes; prints its report as JSON."""
    logging.basicConfig(level=logging.WARNING)
    settings = Settings(_env_file=None, database_url=args.database_url, telegram_token=args.token,
                        telegram_api_url=args.api_url, clock=CLOSING_DAY, telegram_rate=LIMIT,
                        redis_url=args.redis_url or None)
    app = await build_app(settings)
    channel = TelegramChannel(app, Metrics())
    try:
        runner = reminder_runner(app, build_pipelines(app, [channel], Metrics(), LoopHealth()))
        await warm_up(app, channel)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        report = await send_campaign(app, runner)
        print(json.dumps({"sent": report.sent, "retry": report.retry, "unreachable": report.unreachable,
                          "rejected": report.rejected}), flush=True)
    finally:
        await channel.close()
        await app.close()


async def warm_up(app: App, channel: TelegramChannel) -> None:
    """Connections open and code paths run once, as in a bot that has been serving: its first sends are not late."""
    await channel.bot.get_me()
    await app.send_slots.take(SlotRequest(None, 0.0))
    campaign = heat_campaign(app)
    today = app.clock().astimezone(app.settings.zone).date()
    async with app.uow_factory() as uow:
        [resident] = await uow.campaigns.due_residents(campaign.supplier, campaign.period, campaign.kind.value,
                                                       today, 0, 1, ["telegram"])
    channel.render(Outcome(resident.chat, resident.language, (
        reminder(campaign, app.suppliers[campaign.supplier], resident.accounts, today),)))


async def fresh_database(base: str) -> tuple[str, str]:
    name = f"komunalka_bench_{uuid.uuid4().hex[:10]}"
    await postgres_database(base, "create", name)
    return make_url(base).set(database=name).render_as_string(hide_password=False), name


async def replies(budget: SendBudget, api: FakeTelegram, every_s: float, done: asyncio.Event) -> list[float]:
    """Interactive replies through the same budget while the campaign runs; how long each waited for its slot."""
    waits = []
    async with aiohttp.ClientSession() as http:
        n = 0
        while not done.is_set():
            n += 1
            asked = time.monotonic()
            await budget.reply_slot(str(REPLY_CHATS + n))
            waits.append(time.monotonic() - asked)
            async with http.post(f"{api.url}/bot{api.token}/sendMessage",
                                 data={"chat_id": str(REPLY_CHATS + n), "text": "reply"}) as response:
                await response.read()
            try:
                await asyncio.wait_for(done.wait(), every_s)
            except TimeoutError:
                pass
    return waits


async def campaign(kind: str, args: argparse.Namespace) -> None:
    database, name = await fresh_database(args.database_url)
    api = FakeTelegram(token=f"{uuid.uuid4().int % 10**9}:bench-{uuid.uuid4().hex[:8]}", global_rate=LIMIT,
                       per_chat_rate=1)
    await api.start()
    redis_url = args.redis_url if kind == "redis" else ""
    settings = Settings(_env_file=None, database_url=database, telegram_token=api.token, telegram_api_url=api.url,
                        clock=CLOSING_DAY, redis_url=redis_url or None)
    app = await build_app(settings)
    processes: list[asyncio.subprocess.Process] = []
    try:
        chats = await seed(app, args.residents)
        await start_campaign(app)
        for _ in range(2):
            processes.append(await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--child", "--database-url", database, "--api-url", api.url,
                "--token", api.token, "--redis-url", redis_url,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE))
        for process in processes:
            assert process.stdout is not None
            if (await process.stdout.readline()).strip() != b"ready":
                raise SystemExit("a sending process did not start")
        started = time.monotonic()
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            await process.stdin.drain()
        budget = SendBudget(app.send_slots, budget_key("telegram", api.token), LIMIT, 1)
        done = asyncio.Event()
        replying = asyncio.create_task(replies(budget, api, args.reply_every, done))
        reports = []
        for process in processes:
            assert process.stdout is not None
            reports.append(json.loads(await process.stdout.readline()))
            await process.wait()
        elapsed = time.monotonic() - started
        done.set()
        waits = await replying
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        await app.close()
        await api.stop()
        await postgres_database(args.database_url, "drop", name)
    sent = api.sent()
    reminders = [c for c in sent if int(c.params["chat_id"]) < REPLY_CHATS]
    reminded = Counter(int(c.params["chat_id"]) for c in reminders)
    first, last = reminders[0].at, reminders[-1].at  # the campaign's span: every message sent within it counts
    rate = (sum(first <= c.at <= last for c in sent) - 1) / (last - first)
    waits_ms = sorted(w * 1000 for w in waits)
    shares = " + ".join(str(r["sent"]) for r in reports)
    print(f"{kind} budget: {sum(reminded.values())} reminders by 2 processes ({shares}) and {len(waits)} replies "
          f"in {elapsed:.1f} s; {rate:.2f} messages/s = {rate / LIMIT:.3f} of the {LIMIT}/s limit")
    print(f"    429 answers met: {api.too_many}; residents reminded twice: {sum(n > 1 for n in reminded.values())}; "
          f"not reminded: {len(set(chats) - set(reminded))}; replies waited for their slot: "
          f"p50 {statistics.median(waits_ms):.0f} ms, max {waits_ms[-1]:.0f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=900)
    parser.add_argument("--budgets", default="redis,postgresql")
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server's database to create the benchmark's databases from")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--round-trips", type=int, default=2000, help="slots timed in part 1 (0: skip it)")
    parser.add_argument("--reply-every", type=float, default=0.5, help="seconds between interactive replies")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        await child(args)
        return
    kinds = [k for k in args.budgets.split(",") if k]
    if args.round_trips:
        database, name = await fresh_database(args.database_url)
        try:
            app = await build_app(Settings(_env_file=None, database_url=database))  # the budget's migration
            await app.close()
            for kind in kinds:
                await round_trips(kind, database, args.redis_url, args.round_trips)
        finally:
            await postgres_database(args.database_url, "drop", name)
    for kind in kinds:
        await campaign(kind, args)


if __name__ == "__main__":
    asyncio.run(main())
