"""Two `run_bot.py run` processes on one PostgreSQL database behind one webhook URL (any load balancer)."""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from core.ports import Claim
from core.register import parse_register
from bot.bootstrap import build_app
from bot.settings import Settings
from storage.register_store import import_register
from tests.conftest import _drop_postgres, _postgres_database
from tests.fake_telegram import message_update
from tests.test_telegram import DEMO
from tests.test_telegram_process import SECRET, BotProcess, free_port, wait_for

LEASE_S = 2


@pytest.fixture
async def database():
    made = await _postgres_database()
    if isinstance(made, str):
        pytest.skip(made)
    url, name = made
    app = await build_app(Settings(_env_file=None, database_url=url))
    async with app.uow_factory() as uow:
        await import_register(uow.session, parse_register(DEMO.read_bytes(), app.suppliers))
        await uow.commit()
    await app.close()
    yield url
    await _drop_postgres(url, name)


def process(url: str, api) -> BotProcess:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMUNALKA_")}
    env.update(KOMUNALKA_DATABASE_URL=url, KOMUNALKA_TELEGRAM_TOKEN=api.token, KOMUNALKA_TELEGRAM_API_URL=api.url,
               KOMUNALKA_PUBLIC_URL="https://bot.example.org", KOMUNALKA_TELEGRAM_WEBHOOK_SECRET=SECRET,
               KOMUNALKA_HTTP_HOST="127.0.0.1", KOMUNALKA_HTTP_PORT=str(port),
               KOMUNALKA_CLAIM_LEASE_SECONDS=str(LEASE_S), KOMUNALKA_CLOCK="2026-11-20T12:00:00+02:00")
    return BotProcess(env, port)


def welcomed(api) -> Counter[int]:
    return Counter(int(c.params["chat_id"]) for c in api.sent() if c.params.get("text", "").startswith("Вітаю!"))


async def test_two_processes_answer_every_update_once_and_take_over_from_one_that_dies(database, telegram):
    api = telegram
    first, second = process(database, api), process(database, api)
    await first.start()
    await second.start()
    try:
        residents = list(range(7_000_001, 7_000_041))
        for i, chat in enumerate(residents):  # the load balancer alternates
            assert await (first if i % 2 else second).post(message_update(chat, "/start")) == 200
        await wait_for(lambda: len(welcomed(api)) == len(residents), seconds=30)
        await asyncio.sleep(LEASE_S * 2)  # long enough for a wrongly lapsed claim to be sent again
        assert welcomed(api) == Counter({chat: 1 for chat in residents})  # a live process's rows: never twice

        api.hold["sendMessage"] = asyncio.Event()  # the first process's sends hang, then it dies
        late = list(range(7_100_001, 7_100_021))
        await asyncio.gather(*(first.post(message_update(chat, "/start")) for chat in late))
        await first.kill()
        in_flight = {int(c.params["chat_id"]) for c in api.method_calls("sendMessage") if c.status == 0}
        api.release()
        await wait_for(lambda: set(late) <= set(welcomed(api)), seconds=30)  # taken over after the lease
        received = welcomed(api)
        assert all(received[chat] == 1 for chat in late if chat not in in_flight)
        assert all(received[chat] <= 2 for chat in late)  # at least once: a send in the instant of the kill

        # updates a process recorded (and answered 200 for) just before it died: handled by the survivor
        orphans = list(range(7_200_001, 7_200_006))
        app = await build_app(Settings(_env_file=None, database_url=database))
        async with app.uow_factory() as uow:
            await uow.inbox.record_many("telegram", [
                (str(u["update_id"]), json.dumps(u)) for u in (message_update(chat, "/start") for chat in orphans)
            ], app.clock(), Claim("a-process-that-died", datetime.now(timezone.utc) + timedelta(seconds=LEASE_S)))
            await uow.commit()
        await app.close()
        await wait_for(lambda: set(orphans) <= set(welcomed(api)), seconds=30)
        assert all(welcomed(api)[chat] == 1 for chat in orphans)
    finally:
        if first.proc is not None and first.proc.returncode is None:
            await first.kill()
        code, err = await second.terminate()
    assert code == 0, err
