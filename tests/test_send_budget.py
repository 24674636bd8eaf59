"""One send budget per bot: slots no faster than the rate, however many processes take them.

Each store is tested as the bot uses it: in this process's memory, and — where a server answers —
in PostgreSQL (``KOMUNALKA_TEST_POSTGRES_URL``) and Redis (``KOMUNALKA_TEST_REDIS_URL``), where two
store instances on one server stand for two processes. Rates are small so each test takes seconds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import aiohttp
import pytest

from bot.bootstrap import build_app
from bot.delivery.send_budget import (REMINDER_LEAD_S, SAFETY_MARGIN, Grant, SendBudget, SlotRequest, SlotStore,
                                      budget_key)
from bot.delivery.slots_in_process import InProcessSlots
from bot.delivery.supervisor import LoopHealth
from bot.metrics import Metrics
from bot.serve import build_pipelines, reminder_runner
from bot.settings import Settings
from bot.telegram.channel import TelegramChannel
from storage.database import create_engine, migrate
from tests.campaign_senders import send_campaign, start_campaign
from tests.conftest import KYIV
from tests.fake_telegram import FakeTelegram
from tests.reminder_seed import seed

RATE = 20.0  # slots a second
INTERVAL = 1 / RATE
REDIS_ENV = "KOMUNALKA_TEST_REDIS_URL"
CLOSING_DAY = datetime(2026, 11, 27, 10, 0, tzinfo=KYIV)  # the heat campaign "closing" is due


async def _redis_url() -> str:
    """The test server's URL, or pytest.skip saying why there is none."""
    from redis.asyncio import Redis

    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"Redis tests skipped: {REDIS_ENV} is not set (e.g. redis://127.0.0.1:6379/0)")
    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:  # refused, timed out, not Redis: redis-py wraps them all in its own classes
        pytest.skip(f"Redis tests skipped: no server answered at {url} ({exc.__class__.__name__})")
    finally:
        await client.aclose()
    return url


@pytest.fixture
async def postgres_url(postgres) -> str:
    """A fresh, migrated database on the test server."""
    engine = create_engine(postgres)
    await migrate(engine)
    await engine.dispose()
    return postgres


@pytest.fixture
async def redis_url() -> str:
    return await _redis_url()


@pytest.fixture(params=["in-process", "postgresql", "redis"])
def backend(request) -> tuple[str, str | None]:
    """Which store, and its server's URL (skipped, saying why, where none answers)."""
    if request.param == "in-process":
        return request.param, None
    return request.param, request.getfixturevalue({"postgresql": "postgres_url", "redis": "redis_url"}[request.param])


@pytest.fixture
async def stores(backend) -> AsyncIterator[Callable[[], SlotStore]]:
    """A maker of stores on one server: each call stands for another process (in-process: the same store)."""
    kind, url = backend
    made: list[SlotStore] = []
    shared = InProcessSlots()

    def make() -> SlotStore:
        if kind == "postgresql" and url is not None:
            from storage.send_slots import PostgresSlots

            made.append(PostgresSlots(url))
        elif kind == "redis" and url is not None:
            from bot.delivery.slots_redis import RedisSlots

            made.append(RedisSlots(url))
        else:
            return shared
        return made[-1]

    yield make
    for store in made:
        await store.close()


def new_key() -> str:
    return budget_key("telegram", f"{uuid.uuid4().int % 10**9}:token-{uuid.uuid4().hex}")


def most_in_one_second(times: list[float]) -> int:
    """The most slots within any second, less 30 ms for the test's own wake-ups (a busy machine's jitter)."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t - start < 0.97) for i, start in enumerate(times))


async def reminders(budget: SendBudget, chats: list[str]) -> list[float]:
    """Take a reminder slot for each chat, one after the other; when each came."""
    granted = []
    for chat in chats:
        await budget.reminder_slot(chat)
        granted.append(time.monotonic())
    return granted


async def test_reminder_slots_come_no_faster_than_the_rate(stores):
    budget = SendBudget(stores(), new_key(), RATE)
    started = time.monotonic()
    granted = await reminders(budget, [str(n) for n in range(25)])
    assert most_in_one_second(granted) <= RATE
    assert granted[-1] - granted[0] >= 24 * INTERVAL  # evenly spaced, 3% wider than the limit
    assert granted[-1] - started < 24 * INTERVAL * 1.03 + 0.5  # ... and no slower than that


async def test_two_processes_sharing_a_bot_stay_within_its_rate_together(stores):
    key = new_key()
    first, second = SendBudget(stores(), key, RATE), SendBudget(stores(), key, RATE)

    async def replies(budget: SendBudget, count: int) -> list[float]:
        granted = []
        for n in range(count):
            await budget.reply_slot(f"reply-{n}")
            granted.append(time.monotonic())
        return granted

    a, b, c = await asyncio.gather(reminders(first, [f"a{n}" for n in range(12)]),
                                   reminders(second, [f"b{n}" for n in range(12)]), replies(second, 6))
    together = a + b + c
    assert most_in_one_second(together) <= RATE
    assert max(together) - min(together) >= 29 * INTERVAL  # one budget: 30 slots, not 30 at each one's pace


async def test_a_chat_is_reminded_once_a_chat_interval_and_other_chats_are_not_held_for_it(stores):
    budget = SendBudget(stores(), new_key(), RATE, chat_rate=4)  # a chat: one message in 0.25 s
    granted: dict[str, list[float]] = {"busy": [], "other": []}

    async def remind(chat: str) -> None:
        await budget.reminder_slot(chat)
        granted[chat].append(time.monotonic())

    await asyncio.gather(remind("busy"), remind("busy"), remind("other"))
    assert granted["busy"][1] - granted["busy"][0] >= 0.25 - 0.01
    assert granted["other"][0] < granted["busy"][1]  # went out while the busy chat waited


async def test_a_reply_is_not_held_by_its_chat_but_the_next_reminder_to_that_chat_is(stores):
    budget = SendBudget(stores(), new_key(), RATE, chat_rate=4)
    await budget.reply_slot("resident")
    replied = time.monotonic()
    await budget.reply_slot("resident")  # a step's second message: only the bot's slot
    assert time.monotonic() - replied < 0.2
    await budget.reminder_slot("resident")
    assert time.monotonic() - replied >= 0.25 - 0.01


async def test_a_reply_waits_at_most_a_slot_per_process_running_a_campaign(stores):
    key = new_key()
    campaigns = [SendBudget(stores(), key, RATE), SendBudget(stores(), key, RATE)]
    stop = asyncio.Event()

    async def campaign(budget: SendBudget, name: str) -> None:
        n = 0
        while not stop.is_set():
            await budget.reminder_slot(f"{name}-{n}")
            n += 1

    workers = [asyncio.create_task(campaign(b, f"{i}-{w}")) for i, b in enumerate(campaigns) for w in range(10)]
    await asyncio.sleep(0.3)  # the campaigns are in full flow: twenty senders asking at once
    reply = SendBudget(stores(), key, RATE)
    waits = []
    for n in range(5):
        asked = time.monotonic()
        await reply.reply_slot(f"reply-{n}")
        waits.append(time.monotonic() - asked)
        await asyncio.sleep(INTERVAL)
    stop.set()
    await asyncio.gather(*workers)
    # behind at most one reminder slot of each process, claimed from REMINDER_LEAD_S before it, and its own
    assert max(waits) <= REMINDER_LEAD_S + 3 * INTERVAL * (1 + SAFETY_MARGIN) + 0.03


class FailingStore:
    """A shared store that fails (Redis or PostgreSQL gone), then answers again."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.granted = 0
        self._slots = InProcessSlots()

    async def take(self, request: SlotRequest) -> Grant:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Error 111 connecting to redis://:s3cret@10.0.0.5:6379")
        self.granted += 1
        return await self._slots.take(request)

    async def hold(self, budget: str, seconds: float) -> None:
        raise ConnectionError("Error 111 connecting to redis://:s3cret@10.0.0.5:6379")

    async def close(self) -> None: ...


async def test_a_failing_store_holds_sending_back_and_logs_only_the_error_class(caplog):
    store = FailingStore(failures=3)
    health = LoopHealth(grace_s=0.0)
    budget = SendBudget(store, budget_key("telegram", "123:secret-token"), RATE, health=health)
    budget.first_backoff_s = 0.05
    caplog.set_level(logging.INFO)
    waiting = asyncio.create_task(budget.reminder_slot("resident"))
    await asyncio.sleep(0.06)
    assert not waiting.done() and store.granted == 0  # no slot, so nothing is sent
    assert health.unhealthy() == ["telegram-send-budget"]  # what /healthz names
    await asyncio.wait_for(waiting, 2)
    await budget.hold(5)  # sharing a "retry after" fails too: logged, not raised
    assert store.granted == 1 and health.unhealthy() == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "ConnectionError" in logged
    assert "s3cret" not in logged and "10.0.0.5" not in logged and "secret-token" not in logged
    assert logged.count("the store failed") == 1  # once an outage, not once a retry


@pytest.mark.parametrize("kind", ["postgresql", "redis"])
async def test_a_store_whose_server_does_not_answer_holds_sending_back_without_crashing(kind, caplog):
    if kind == "postgresql":
        from storage.send_slots import PostgresSlots

        store: SlotStore = PostgresSlots("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    else:
        from bot.delivery.slots_redis import RedisSlots

        store = RedisSlots("redis://127.0.0.1:1/0")
    budget = SendBudget(store, new_key(), RATE)
    budget.first_backoff_s = 0.05
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(budget.reminder_slot("resident"), 0.5)  # still waiting: nothing granted
    finally:
        await store.close()
    assert any("the store failed" in r.getMessage() for r in caplog.records)


async def test_keys_name_the_bot_by_a_hash_of_its_token(redis_url, postgres_url):
    from redis.asyncio import Redis
    from sqlalchemy import text

    from bot.delivery.slots_redis import RedisSlots
    from storage.send_slots import PostgresSlots

    token = f"{uuid.uuid4().int % 10**9}:AAH-secret-{uuid.uuid4().hex}"
    key = budget_key("telegram", token)
    for store in (RedisSlots(redis_url), PostgresSlots(postgres_url)):
        await SendBudget(store, key, RATE, chat_rate=1).reminder_slot("777000")
        await store.close()
    client = Redis.from_url(redis_url)
    redis_keys = [k.decode() if isinstance(k, bytes) else k for k in await client.keys(f"*{key.split(':')[1]}*")]
    await client.aclose()
    engine = create_engine(postgres_url)
    async with engine.connect() as connection:
        table_keys = list((await connection.execute(text("SELECT key FROM send_budgets"))).scalars())
    await engine.dispose()
    assert len(redis_keys) == 2 and len(table_keys) == 2  # the bot's, and the chat's
    for stored in redis_keys + table_keys:
        assert "secret" not in stored and token.split(":")[0] not in stored and "777000" not in stored
        assert "telegram:" in stored


@pytest.fixture(params=["postgresql", "redis"])
def shared_budget(request) -> tuple[str, str | None]:
    """Two apps on one PostgreSQL database, their budget in it or in Redis: (database URL, Redis URL)."""
    database = request.getfixturevalue("postgres_url")
    return database, (request.getfixturevalue("redis_url") if request.param == "redis" else None)


async def test_two_apps_sending_one_campaign_meet_no_429_and_remind_nobody_twice(shared_budget):
    database, redis = shared_budget
    # Telegram's limit one message above the bot's rate: room for a busy machine's jitter, none for two budgets
    api = FakeTelegram(token=f"{uuid.uuid4().int % 10**9}:two-apps", global_rate=11, per_chat_rate=1)
    await api.start()
    settings = Settings(_env_file=None, database_url=database, telegram_token=api.token, telegram_api_url=api.url,
                        clock=CLOSING_DAY, telegram_rate=10, redis_url=redis)
    apps = [await build_app(settings), await build_app(settings)]
    channels = [TelegramChannel(app, Metrics()) for app in apps]
    try:
        chats = await seed(apps[0], 24)
        await start_campaign(apps[0])
        runners = [reminder_runner(app, build_pipelines(app, [channel], Metrics(), LoopHealth()))
                   for app, channel in zip(apps, channels)]
        reports = await asyncio.gather(*(send_campaign(app, runner) for app, runner in zip(apps, runners)))
    finally:
        for channel in channels:
            await channel.close()
        for app in apps:
            await app.close()
        await api.stop()
    received = Counter(int(c.params["chat_id"]) for c in api.sent())
    assert api.too_many == 0
    assert sorted(received) == sorted(chats) and set(received.values()) == {1}
    assert sum(r.sent for r in reports) == 24 and all(r.sent for r in reports)  # both sent, together
    sent = [c.at for c in api.sent()]
    assert 23 * 0.1 <= sent[-1] - sent[0] <= 23 * 0.103 + 0.5  # one budget at 10 a second, shared, and used up


async def test_replies_of_two_processes_share_the_bot_s_budget(postgres_url, tmp_path):
    from bot.serve import Server
    from tests.fake_telegram import message_update

    api = FakeTelegram(token=f"{uuid.uuid4().int % 10**9}:replies", global_rate=9)  # 8 a second, and room for jitter
    await api.start()
    settings = Settings(_env_file=None, database_url=postgres_url, telegram_token=api.token, telegram_api_url=api.url,
                        public_url="https://bot.example.org", telegram_webhook_secret="secret", http_host="127.0.0.1",
                        http_port=0, clock=CLOSING_DAY, telegram_rate=8)
    servers = [Server(await build_app(settings)), Server(await build_app(settings))]
    chats = list(range(8_800_001, 8_800_017))
    try:
        ports = [await server.start(reminders=False) for server in servers]
        async with aiohttp.ClientSession() as http:
            async def post(chat: int) -> int:
                async with http.post(f"http://127.0.0.1:{ports[chat % 2]}/telegram/webhook",
                                     json=message_update(chat, "/start"),
                                     headers={"X-Telegram-Bot-Api-Secret-Token": "secret"}) as response:
                    return response.status

            assert set(await asyncio.gather(*(post(chat) for chat in chats))) == {200}
        for server in servers:
            await server.pipeline("telegram").settle()
    finally:
        for server in servers:
            await server.stop()
            await server.app.close()
        await api.stop()
    greeted = [c for c in api.sent() if int(c.params["chat_id"]) in chats]
    assert api.too_many == 0 and sorted(int(c.params["chat_id"]) for c in greeted) == chats
    assert greeted[-1].at - greeted[0].at >= 15 / 8  # both processes' replies, one budget of 8 a second
