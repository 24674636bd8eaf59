"""`run_bot.py remind` and the scheduler of `run_bot.py run`, as processes."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections import Counter

import pytest

from bot.bootstrap import build_app
from bot.settings import Settings
from tests.fake_telegram import FakeTelegram
from tests.reminder_seed import seed
from tests.test_telegram_process import ROOT, SECRET, BotProcess, free_port, wait_for

CLOSING_DAY = "2026-11-27T10:00:00+02:00"


@pytest.fixture
def api(telegram):
    return telegram


async def seeded(tmp_path, residents: int) -> tuple[str, list[int]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'k.db'}"
    app = await build_app(Settings(_env_file=None, database_url=url))
    try:
        chats = await seed(app, residents)
    finally:
        await app.close()
    return url, chats


def environment(url: str, api: FakeTelegram, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMUNALKA_")}
    env.update(KOMUNALKA_DATABASE_URL=url, KOMUNALKA_TELEGRAM_TOKEN=api.token, KOMUNALKA_TELEGRAM_API_URL=api.url,
               **extra)
    return env


async def remind(env: dict[str, str], *args: str) -> tuple[int | None, str, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run_bot.py"), "remind", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode, out.decode(), err.decode()


async def test_dry_run_counts_per_supplier_and_campaign_and_sends_nothing(tmp_path, api):
    url, _ = await seeded(tmp_path, 7)
    code, out, _ = await remind(environment(url, api), "--at", CLOSING_DAY, "--dry-run")
    assert code == 0
    assert "heat 2026-11 closing (deadline 2026-11-30): 7 resident(s) would be reminded" in out
    assert "water 2026-11 closing (deadline 2026-11-30): 0 resident(s) would be reminded" in out
    assert api.sent() == []


async def test_remind_sends_once_and_in_quiet_hours_sends_nothing(tmp_path, api):
    url, chats = await seeded(tmp_path, 5)
    code, out, _ = await remind(environment(url, api), "--at", "2026-11-27T21:30:00+02:00")
    assert code == 0 and "within quiet hours (21:00–09:00): nothing sent" in out
    assert api.sent() == []
    code, out, _ = await remind(environment(url, api), "--at", CLOSING_DAY)
    assert code == 0
    assert "heat 2026-11 closing (deadline 2026-11-30): 5 sent, 0 unreachable, 0 rejected, 0 to retry; finished" in out
    code, out, _ = await remind(environment(url, api), "--at", CLOSING_DAY)
    assert "No reminder campaign is due." in out
    assert sorted(int(c.params["chat_id"]) for c in api.sent()) == chats


async def test_a_campaign_killed_mid_way_and_run_again_sends_no_one_twice_and_loses_at_most_the_few_in_flight(
        tmp_path, api):
    url, chats = await seeded(tmp_path, 60)
    api.global_rate = 10  # Telegram allows less than the bot is configured for: "retry after" comes back
    env = environment(url, api, KOMUNALKA_TELEGRAM_RATE="20")
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run_bot.py"), "remind", "--at",
                                                CLOSING_DAY, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    await wait_for(lambda: len(api.sent()) >= 25, seconds=60)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert api.too_many > 0  # the kill came in a run that met "retry after"
    before = len(api.sent())
    code, out, err = await remind(env, "--at", CLOSING_DAY)
    assert code == 0, err
    received = Counter(int(c.params["chat_id"]) for c in api.sent())
    assert max(received.values()) == 1  # no one twice
    lost = len(chats) - len(received)
    said = re.search(r"(\d+) lost in an earlier crash", out)
    in_flight = int(said.group(1)) if said else 0
    assert lost <= in_flight <= 3  # at most the few in flight at the moment of the kill, and it is said
    assert ("in flight when an earlier run stopped" in err) == (in_flight > 0)
    assert len(api.sent()) - before == len(chats) - lost - before
    assert "; finished" in out


async def test_the_running_bot_catches_up_on_a_due_campaign_at_start(tmp_path, api):
    url, chats = await seeded(tmp_path, 3)
    port = free_port()
    env = environment(url, api, KOMUNALKA_CLOCK=CLOSING_DAY, KOMUNALKA_PUBLIC_URL="https://bot.example.org",
                      KOMUNALKA_TELEGRAM_WEBHOOK_SECRET=SECRET, KOMUNALKA_HTTP_HOST="127.0.0.1",
                      KOMUNALKA_HTTP_PORT=str(port))
    bot = BotProcess(env, port)
    await bot.start()
    try:
        await wait_for(lambda: len(api.sent()) == 3, seconds=30)
    finally:
        code, err = await bot.terminate()
    assert code == 0, err
    assert sorted(int(c.params["chat_id"]) for c in api.sent()) == chats
    assert all("3 дні" in c.params["text"] for c in api.sent())
