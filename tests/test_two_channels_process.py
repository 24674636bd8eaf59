"""run_bot.py as one process serving Telegram and Viber from one HTTP server."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import aiohttp

from tests.fake_telegram import message_update
from tests.fake_viber import conversation_started, message_callback, sign
from tests.test_telegram_process import ROOT, SECRET, BotProcess, free_port, wait_for


async def test_one_process_serves_telegram_and_viber(tmp_path, telegram, viber):
    port = free_port()
    variables = {k: v for k, v in os.environ.items() if not k.startswith("KOMUNALKA_")}
    variables.update(KOMUNALKA_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'k.db'}",
                     KOMUNALKA_TELEGRAM_TOKEN=telegram.token, KOMUNALKA_TELEGRAM_API_URL=telegram.url,
                     KOMUNALKA_TELEGRAM_WEBHOOK_SECRET=SECRET, KOMUNALKA_VIBER_TOKEN=viber.token,
                     KOMUNALKA_VIBER_API_URL=viber.url, KOMUNALKA_PUBLIC_URL="https://bot.example.org",
                     KOMUNALKA_HTTP_HOST="127.0.0.1", KOMUNALKA_HTTP_PORT=str(port))
    viber.local_webhook = f"http://127.0.0.1:{port}/viber/webhook"
    bot = BotProcess(variables, port)
    await bot.start()
    try:
        assert viber.webhook_check_status == 200
        assert await bot.post(message_update(77, "/start")) == 200
        async with aiohttp.ClientSession() as http:
            raw = json.dumps(conversation_started("vib-1")).encode()
            async with http.post(f"http://127.0.0.1:{port}/viber/webhook", data=raw,
                                 headers={"X-Viber-Content-Signature": sign(raw, viber.token)}) as response:
                assert (await response.json())["text"].startswith("Вітаю!")
            raw = json.dumps(message_callback("vib-1", "/help")).encode()
            async with http.post(f"http://127.0.0.1:{port}/viber/webhook", data=raw,
                                 headers={"X-Viber-Content-Signature": sign(raw, viber.token)}) as response:
                assert response.status == 200
            await wait_for(lambda: telegram.texts(77) and viber.texts("vib-1"))
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert (await response.json())["channels"] == ["telegram", "viber"]
        assert telegram.texts(77)[0].startswith("Вітаю!")
        assert viber.texts("vib-1")[0].startswith("Правила передачі показників")
    finally:
        code, err = await bot.terminate()
    assert code == 0, err


async def test_a_viber_token_without_a_public_url_is_refused_at_start(tmp_path):
    variables = {k: v for k, v in os.environ.items() if not k.startswith("KOMUNALKA_")}
    variables.update(KOMUNALKA_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'k.db'}", KOMUNALKA_VIBER_TOKEN="t")
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run_bot.py"), env=variables,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 2 and b"KOMUNALKA_PUBLIC_URL" in err
