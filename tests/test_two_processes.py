"""Two `run_bot.py run` processes on one PostgreSQL database behind one webhook URL (any load balancer)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from core.ports import Claim
from bot.bootstrap import build_app
from bot.settings import Settings
from tests.fake_telegram import message_update
from tests.test_telegram_process import ROOT, SECRET, BotProcess, free_port, wait_for

LEASE_S = 2
CLOCK = "2026-11-20T12:00:00+02:00"  # inside heat's window
DEMO = ROOT / "demo" / "register.csv"


async def accounts_import(url: str, register: Path) -> None:
    """The register loaded as an operator loads it: `run_bot.py accounts import FILE`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMUNALKA_")}
    env.update(KOMUNALKA_DATABASE_URL=url, KOMUNALKA_CLOCK=CLOCK)  # the register's dates are before "today"
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run_bot.py"), "accounts", "import",
                                                str(register), env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, (out + err).decode()


@pytest.fixture
async def database(postgres):
    await accounts_import(postgres, DEMO)
    return postgres


def process(url: str, api) -> BotProcess:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMUNALKA_")}
    env.update(KOMUNALKA_DATABASE_URL=url, KOMUNALKA_TELEGRAM_TOKEN=api.token, KOMUNALKA_TELEGRAM_API_URL=api.url,
               KOMUNALKA_PUBLIC_URL="https://bot.example.org", KOMUNALKA_TELEGRAM_WEBHOOK_SECRET=SECRET,
               KOMUNALKA_HTTP_HOST="127.0.0.1", KOMUNALKA_HTTP_PORT=str(port),
               KOMUNALKA_CLAIM_LEASE_SECONDS=str(LEASE_S), KOMUNALKA_CLOCK=CLOCK)
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


async def test_a_residents_later_update_waits_for_the_earlier_one_a_dead_process_recorded(database, telegram):
    api = telegram
    survivor = process(database, api)
    await survivor.start()
    chat = 7_300_001
    earlier, later = message_update(chat, "/start"), message_update(chat, "/help")
    try:
        app = await build_app(Settings(_env_file=None, database_url=database))
        async with app.uow_factory() as uow:  # recorded (and answered 200) by a process that died before handling it
            event_id = str(earlier["update_id"])
            dead = Claim("a-process-that-died", datetime.now(timezone.utc) + timedelta(seconds=LEASE_S))
            await uow.inbox.record_many("telegram", [(event_id, json.dumps(earlier))], app.clock(), dead,
                                        {event_id: str(chat)})
            await uow.commit()
        assert await survivor.post(later) == 200  # the resident's next message reaches the live process

        def texts() -> list[str]:
            return [c.params.get("text", "") for c in api.method_calls("sendMessage")
                    if int(c.params["chat_id"]) == chat and c.status == 200]

        for _ in range(300):  # both handled: the earlier one once its claim lapsed and the survivor took it over
            async with app.engine.connect() as connection:
                if not (await connection.execute(text("SELECT count(*) FROM inbound_events "
                                                      "WHERE handled_at IS NULL"))).scalar_one():
                    break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)  # their replies sent
        await app.close()
    finally:
        code, err = await survivor.terminate()
    assert code == 0, err
    shown = texts()
    # /start's greeting first (once: /help, handled after it, needs no greeting), the help last
    assert shown[0].startswith("Вітаю!") and sum(t.startswith("Вітаю!") for t in shown) == 1, shown
    assert shown[-1].startswith("Правила передачі показників"), shown
