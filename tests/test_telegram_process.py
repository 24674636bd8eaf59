"""run_bot.py as a process serving Telegram: start, SIGKILL mid-update, restart, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import socket
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest

from tests.fake_telegram import callback_update, message_update

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret"
CHAT = 4242


def free_port() -> int:
    """A port for a server a test starts later, free now: below Linux's ephemeral range (32768 and up by
    default), so no client connection of the other test worker is given it meanwhile, and picked at random,
    so the two workers hardly ever pick the same one."""
    while True:
        port = random.randrange(20_000, 32_000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


async def healthy(proc: asyncio.subprocess.Process, port: int, seconds: float = 30) -> bool:
    """Wait for a `run_bot.py run` to answer /healthz with 200: False when it exits first (the caller shows its
    log); killed, and an AssertionError, when it is not healthy in time."""
    async with aiohttp.ClientSession() as http:
        for _ in range(int(seconds / 0.05)):
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return True
            except aiohttp.ClientError:
                pass
            if proc.returncode is not None:
                return False
            await asyncio.sleep(0.05)
    proc.kill()
    await proc.wait()
    raise AssertionError("the bot did not become healthy")


class BotProcess:
    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env, self.port = env, port
        self.proc: asyncio.subprocess.Process  # set by start()

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "run_bot.py"), "run", env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        if not await healthy(self.proc, self.port):
            raise AssertionError((await self.proc.communicate())[1].decode())

    async def post(self, update: dict) -> int:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"http://127.0.0.1:{self.port}/telegram/webhook", data=json.dumps(update),
                                 headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                return response.status

    async def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def terminate(self) -> tuple[int | None, str]:
        self.proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(self.proc.communicate(), timeout=30)
        return self.proc.returncode, err.decode()


@pytest.fixture
def api(telegram):
    return telegram


@pytest.fixture
def env(tmp_path, api):
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KOMUNALKA_")}
    clean.update(KOMUNALKA_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'k.db'}",
                 KOMUNALKA_TELEGRAM_TOKEN=api.token, KOMUNALKA_TELEGRAM_API_URL=api.url,
                 KOMUNALKA_PUBLIC_URL="https://bot.example.org", KOMUNALKA_TELEGRAM_WEBHOOK_SECRET=SECRET,
                 KOMUNALKA_HTTP_HOST="127.0.0.1", KOMUNALKA_HTTP_PORT=str(port))
    return clean, port


async def wait_for(condition, seconds: float = 15) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_an_update_acknowledged_just_before_a_sigkill_is_handled_after_restart(env, api):
    variables, port = env
    bot = BotProcess(variables, port)
    await bot.start()
    assert await bot.post(message_update(CHAT, "/start")) == 200
    await wait_for(lambda: len(api.texts(CHAT)) == 1)
    help_payload = api.button(CHAT, "❓ Довідка")
    # Telegram got its 200; the bot is mid-way through the update (answering the button) when killed
    api.hold["answerCallbackQuery"] = asyncio.Event()
    assert await bot.post(callback_update(CHAT, help_payload)) == 200
    await wait_for(lambda: api.method_calls("answerCallbackQuery"))
    await bot.kill()
    assert not any(t.startswith("Правила") for t in api.texts(CHAT))
    api.release()
    restarted = BotProcess(variables, port)
    await restarted.start()
    await wait_for(lambda: any(t.startswith("Правила") for t in api.texts(CHAT)))
    code, err = await restarted.terminate()
    assert code == 0, err


async def test_replies_of_a_step_committed_before_a_sigkill_are_sent_after_restart(env, api):
    variables, port = env
    bot = BotProcess(variables, port)
    await bot.start()
    api.hold["sendMessage"] = asyncio.Event()
    assert await bot.post(message_update(CHAT, "/start")) == 200
    await wait_for(lambda: api.method_calls("sendMessage"))
    await bot.kill()
    api.release()
    restarted = BotProcess(variables, port)
    await restarted.start()
    await wait_for(lambda: len(api.texts(CHAT)) >= 1)
    assert api.texts(CHAT)[0].startswith("Вітаю!")
    await restarted.terminate()


async def test_sigterm_finishes_the_update_in_hand_and_exits_cleanly(env, api):
    variables, port = env
    variables["TZ"] = "Europe/Kyiv"  # the machine's zone is not the logs': they say UTC
    bot = BotProcess(variables, port)
    await bot.start()
    api.hold["sendMessage"] = asyncio.Event()
    assert await bot.post(message_update(CHAT, "/start")) == 200
    await wait_for(lambda: api.method_calls("sendMessage"))
    bot.proc.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.3)
    api.release()
    code, err = await bot.terminate()
    assert code == 0, err
    assert len(api.texts(CHAT)) == 1
    assert "Traceback" not in err
    stamps = [line.split(" ", 1)[0] for line in err.splitlines() if " INFO " in line]
    assert stamps and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", s) for s in stamps), err
    assert abs(datetime.fromisoformat(stamps[-1]) - datetime.now(timezone.utc)) < timedelta(minutes=1)  # UTC


async def test_webhook_mode_without_a_secret_refuses_to_start(env):
    variables, _ = env
    del variables["KOMUNALKA_TELEGRAM_WEBHOOK_SECRET"]
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run_bot.py"), env=variables,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 2
    assert b"KOMUNALKA_TELEGRAM_WEBHOOK_SECRET" in err
