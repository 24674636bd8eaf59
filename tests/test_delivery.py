"""The delivery pipeline under failure, as a resident and an operator see it: fake Telegram and Viber
servers that fail on demand, a real database, the real HTTP server."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from sqlalchemy.exc import OperationalError

from core.events import ChatRef, Started
from bot.bootstrap import build_app
from storage.uow import SqlUnitOfWork
from tests.fake_telegram import callback_update, message_update
from tests.fake_viber import message_callback
from tests.test_telegram import OLENA, link_heat, settings_for, start_bot, stop_bot
from tests.test_telegram_process import wait_for
from tests.test_viber import start_bot as start_viber_bot

RECEIPT = "Номер квитанції: KM-2611-"


@pytest.fixture
def api(telegram):
    return telegram


@pytest.fixture
async def bot(tmp_path, api):
    started = await start_bot(settings_for(tmp_path, api), api)
    yield started
    await stop_bot(started)


async def failed_replies(bot) -> list:
    async with bot.server.app.uow_factory() as uow:
        return await uow.outbox.failed(100)


async def failed_events(app) -> list:
    async with app.uow_factory() as uow:
        return await uow.inbox.failed(100)


async def healthz(port: int) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            return response.status, await response.json()


async def test_a_receipt_that_met_a_502_arrives_once(bot, api):
    await bot.say(OLENA, "/start")
    await link_heat(bot)
    await bot.press(OLENA, "📝 Передати показники")
    await bot.say(OLENA, "1525,5")
    await bot.press(OLENA, "Без змін")
    await bot.press(OLENA, "Без змін")
    api.failures["sendMessage"].extend(["502", "html"])  # Telegram's 502, then a proxy's HTML page
    await bot.press(OLENA, "✅ Підтвердити")
    receipts = [t for t in api.texts(OLENA) if RECEIPT in t]
    assert len(receipts) == 1
    assert [c.status for c in api.method_calls("sendMessage")][-3:] == [502, 502, 200]
    assert await failed_replies(bot) == []


async def test_a_reply_the_platform_refuses_is_set_aside_listed_and_sent_again_on_retry(bot, api):
    api.failures["sendMessage"].append("400")
    await bot.say(OLENA, "/start")
    assert api.texts(OLENA) == []
    [row] = await failed_replies(bot)
    assert (row.channel, row.error) == ("telegram", "TelegramBadRequest")
    metrics = await (await bot.http.get(f"{bot.url}/metrics")).text()
    assert 'komunalka_set_aside_total{channel="telegram",queue="outbox"} 1.0' in metrics
    async with bot.server.app.uow_factory() as uow:  # what `run_bot.py outbox retry` does
        assert await uow.outbox.retry([int(row.id)], bot.server.app.clock()) == 1
        await uow.commit()
    await wait_for(lambda: api.texts(OLENA), seconds=5)
    assert api.texts(OLENA)[0].startswith("Вітаю!") and await failed_replies(bot) == []


async def test_a_blocked_resident_settles_the_reply_and_is_unreachable(bot, api):
    api.failures["sendMessage"].append("403")
    await bot.say(OLENA, "/start")
    assert await failed_replies(bot) == []
    async with bot.server.app.uow_factory() as uow:
        assert await uow.outbox.pending("telegram", 10) == []


async def test_an_outbox_row_that_cannot_be_decoded_is_set_aside_and_start_goes_on(tmp_path, api):
    settings = settings_for(tmp_path, api)
    app = await build_app(settings)
    async with app.uow_factory() as uow:  # a text key renamed in a release, and a body that is not JSON at all
        await uow.outbox.add(ChatRef("telegram", "77"), "uk", '[{"$reply": [{"$text": "renamed_key", "p": {}}, [], '
                                                                 'null]}]', app.clock())
        await uow.outbox.add(ChatRef("telegram", "78"), "uk", "{not json", app.clock())
        await uow.commit()
    await app.close()
    bot = await start_bot(settings, api)
    try:
        assert (await healthz(bot.server.http.port))[0] == 200
        assert (await bot.say(OLENA, "/start"))[0].startswith("Вітаю!")
        for _ in range(60):
            if len(await failed_replies(bot)) == 2:
                break
            await asyncio.sleep(0.05)
        assert sorted(r.error for r in await failed_replies(bot)) == ["undecodable: JSONDecodeError",
                                                                       "undecodable: KeyError"]
    finally:
        await stop_bot(bot)


class FlakyInbox:
    """The inbox port of a database whose disk is full for a moment: recording fails ``failures`` times."""

    def __init__(self, inner, state: dict) -> None:
        self._inner, self._state = inner, state

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def record_many(self, *args, **kwargs):
        if self._state["failures"] > 0:
            self._state["failures"] -= 1
            raise OperationalError("INSERT INTO inbound_events", {}, Exception("database or disk is full"))
        return await self._inner.record_many(*args, **kwargs)


def flaky(app, state: dict) -> None:
    made = app.uow_factory()

    class FlakyUnitOfWork(SqlUnitOfWork):
        async def __aenter__(self):
            await super().__aenter__()
            self.inbox = FlakyInbox(self.inbox, state)  # type: ignore[assignment]  # stands in for SqlInbox
            return self

    app.uow_factory = lambda: FlakyUnitOfWork(made._sessions, made._write_lock)


async def test_polling_goes_on_after_an_unparseable_update_a_press_aiogram_refuses_and_a_database_error(
        tmp_path, api):
    settings = settings_for(tmp_path, api, public_url=None)
    app = await build_app(settings)
    state = {"failures": 0}
    flaky(app, state)
    await app.close()
    bot = await start_bot(settings, api)
    flaky(bot.server.app, state)
    try:
        await wait_for(lambda: api.method_calls("getUpdates"), seconds=5)
        api.push_update({"update_id": 900, "message": {"chat": "not a chat"}})
        api.push_update(message_update(OLENA, "/start", update_id=901))
        await wait_for(lambda: api.texts(OLENA), seconds=5)
        press = callback_update(OLENA, api.button(OLENA, "❓ Довідка"), update_id=902)
        del press["callback_query"]["chat_instance"]  # real Telegram sends these; aiogram's model refuses them
        api.push_update(press)
        await wait_for(lambda: len(api.texts(OLENA)) == 2, seconds=5)
        assert api.texts(OLENA)[1].startswith("Правила передачі показників")
        assert api.method_calls("answerCallbackQuery")
        state["failures"] = 2  # the next two recordings fail: polling backs off and fetches the update again
        api.push_update(message_update(OLENA, "/menu", update_id=903))
        await wait_for(lambda: len(api.texts(OLENA)) == 3, seconds=10)
        assert api.texts(OLENA)[2] == "Головне меню. Що робимо?"
        assert [e.id for e in await failed_events(bot.server.app)] == ["900"]
        assert (await healthz(bot.server.http.port))[0] == 200
    finally:
        await stop_bot(bot)


async def test_run_goes_on_when_setting_the_menu_and_the_webhook_fails_at_first(tmp_path, api):
    api.failures["setMyCommands"].append("html")  # ClientDecodeError in aiogram
    api.failures["setWebhook"].extend(["drop", "502"])
    bot = await start_bot(settings_for(tmp_path, api), api)
    try:
        assert (await bot.say(OLENA, "/start"))[0].startswith("Вітаю!")
        await wait_for(lambda: [c for c in api.method_calls("setWebhook") if c.status == 200], seconds=10)
        await wait_for(lambda: len([c for c in api.method_calls("setMyCommands") if c.status == 200]) == 2, seconds=5)
        assert (await healthz(bot.server.http.port))[0] == 200
    finally:
        await stop_bot(bot)


async def test_healthz_names_a_loop_that_keeps_failing(tmp_path, api):
    api.failures["getUpdates"].extend(["html"] * 100)
    bot = await start_bot(settings_for(tmp_path, api, public_url=None, loop_grace_seconds=1), api)
    try:
        await asyncio.sleep(2.5)
        status, body = await healthz(bot.server.http.port)
        assert status == 503 and body["failing"] == ["telegram-polling"]
        api.failures["getUpdates"].clear()
        for _ in range(100):
            if (await healthz(bot.server.http.port))[0] == 200:
                break
            await asyncio.sleep(0.1)
        assert (await healthz(bot.server.http.port))[0] == 200
    finally:
        await stop_bot(bot)


async def test_nested_and_utf16_bodies_get_400_on_both_channels(bot, tmp_path, viber):
    nested = b"[" * 100_000 + b"]" * 100_000
    utf16 = json.dumps(message_update(OLENA, "/start")).encode("utf-16")
    utf32 = json.dumps(message_update(OLENA, "/start")).encode("utf-32")
    for body in (nested, utf16, utf32, b'{"update_id": 1, "message": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"):
        assert await bot.post(body) == 400
    (tmp_path / "viber").mkdir()
    vb = await start_viber_bot(tmp_path / "viber", viber)
    try:
        for body in (nested, json.dumps(message_callback("u1", "привіт")).encode("utf-16")):
            assert (await vb.post(body)).status == 400
    finally:
        await vb.http.close()
        await vb.server.stop()
        await vb.server.app.close()


async def test_a_viber_message_that_cannot_be_read_is_set_aside_and_the_next_is_answered(tmp_path, viber):
    (tmp_path / "v").mkdir()
    vb = await start_viber_bot(tmp_path / "v", viber)
    try:
        poison = message_callback("u1", type="text", text=None)
        poison["message"] = {"type": "text", "text": 12345}  # correctly signed; the SDK takes it, we cannot
        assert (await vb.post(json.dumps(poison).encode())).status == 200
        replies = await vb.say("u2", "/start")
        assert replies and replies[0].startswith("Вітаю!")
        [failed] = await failed_events(vb.server.app)
        assert failed.id == str(poison["message_token"]) and failed.error == "AttributeError"
        assert viber.texts("u1") == ["Вибачте, щось пішло не так. Спробуйте ще раз за хвилину."]
    finally:
        await vb.http.close()
        await vb.server.stop()
        await vb.server.app.close()


async def test_viber_set_webhook_and_a_send_survive_a_network_error(tmp_path, viber):
    viber.failures["set_webhook"].append("drop")
    viber.failures["send_message"].append("500")
    vb = await start_viber_bot(tmp_path, viber)
    try:
        assert viber.webhook_check_status == 200  # set after the first attempt failed
        replies = await vb.say("u3", "/start")
        assert len(replies) == 1 and replies[0].startswith("Вітаю!")
    finally:
        await vb.http.close()
        await vb.server.stop()
        await vb.server.app.close()


async def test_a_step_committed_but_not_sent_by_a_process_that_died_is_sent_by_another(tmp_path, api):
    settings = settings_for(tmp_path, api)
    app = await build_app(settings)
    from core.ports import Claim
    from datetime import datetime, timedelta, timezone

    dead = Claim("dead-process", datetime.now(timezone.utc) + timedelta(seconds=1))
    await app.service.handle(Started(ChatRef("telegram", str(OLENA))), inbound_id="5", outbox=True, claim=dead)
    await app.close()
    bot = await start_bot(settings, api)  # SQLite: one process, so claims found at start are a dead one's
    try:
        await wait_for(lambda: api.texts(OLENA), seconds=5)
        assert len(api.texts(OLENA)) == 1
    finally:
        await stop_bot(bot)
