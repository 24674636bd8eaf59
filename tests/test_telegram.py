"""The Telegram channel against a fake Bot API on 127.0.0.1, driven over the real webhook."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image
from sqlalchemy import select, update

from core.periods import Period
from core.register import parse_register
from bot.bootstrap import build_app
from bot.serve import Server
from bot.settings import Settings
from storage.models import ResidentRow
from storage.readings_export import accepted_readings
from storage.register_store import import_register
from tests.conftest import KYIV
from tests.fake_telegram import FakeTelegram, member_update, message_update
from tests.test_telegram_process import wait_for


def jpeg(size: tuple[int, int] = (800, 600)) -> bytes:
    """A photo as a phone sends it (of nothing readable)."""
    out = io.BytesIO()
    Image.new("RGB", size, (40, 40, 40)).save(out, "JPEG")
    return out.getvalue()

DEMO = Path(__file__).resolve().parent.parent / "demo" / "register.csv"
SECRET = "webhook-secret_1"
OLENA = 5550001


class TelegramBot:
    """The bot serving on 127.0.0.1, and a resident's-eye view of it through the fake API."""

    def __init__(self, server: Server, api: FakeTelegram) -> None:
        self.server = server
        self.api = api
        self.channel = server.channels[0]
        self.pipeline = server.pipelines[0]
        self.url = f"http://127.0.0.1:{server.http.port}"
        self.http = aiohttp.ClientSession()

    async def post(self, update: dict | bytes, secret: str | None = SECRET) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        async with self.http.post(f"{self.url}/telegram/webhook", data=body, headers={
                **headers, "Content-Type": "application/json"}) as response:
            return response.status

    async def settle(self) -> None:
        await self.pipeline.settle()

    async def say(self, chat: int, text: str) -> list[str]:
        before = len(self.api.texts(chat))
        assert await self.post(message_update(chat, text)) == 200
        await self.settle()
        return self.api.texts(chat)[before:]

    async def press(self, chat: int, label: str) -> list[str]:
        before = len(self.api.texts(chat))
        assert await self.post(self.api.tap(chat, label)) == 200
        await self.settle()
        return self.api.texts(chat)[before:]

    async def close(self) -> None:
        await self.http.close()


def settings_for(tmp_path: Path, api: FakeTelegram, **extra: object) -> Settings:
    values: dict[str, Any] = dict(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'k.db'}", telegram_token=api.token, telegram_api_url=api.url,
        public_url="https://bot.example.org", telegram_webhook_secret=SECRET, http_host="127.0.0.1", http_port=0,
        clock=datetime(2026, 11, 20, 12, tzinfo=KYIV))
    values.update(extra)
    return Settings(_env_file=None, **values)


@pytest.fixture
def api(telegram):
    return telegram


async def start_bot(settings: Settings, api: FakeTelegram) -> TelegramBot:
    app = await build_app(settings)
    async with app.uow_factory() as uow:
        await import_register(uow.session, parse_register(DEMO.read_bytes(), app.suppliers))
        await uow.commit()
    server = Server(app)
    await server.start(reminders=False)
    return TelegramBot(server, api)


async def stop_bot(bot: TelegramBot) -> None:
    await bot.close()
    await bot.server.stop()
    await bot.server.app.close()


@pytest.fixture
async def bot(tmp_path, api):
    started = await start_bot(settings_for(tmp_path, api), api)
    yield started
    await stop_bot(started)


async def send_directly(channel, outcome) -> None:
    for message in channel.render(outcome):
        await channel.send(message)


async def link_heat(bot: TelegramBot, chat: int = OLENA) -> None:
    await bot.say(chat, "/start")
    await bot.press(chat, "🏠 Мої рахунки")
    await bot.press(chat, "➕ Додати рахунок")
    await bot.press(chat, "Тепло та гаряча вода")
    await bot.say(chat, "100000000000001")
    await bot.say(chat, "1234,56")


async def test_the_whole_conversation_in_telegram_ends_in_the_export(bot, api):
    greeting = await bot.say(OLENA, "/start")
    assert greeting[0].startswith("Вітаю! Я Комуналка")
    assert [b["text"] for b in api.last_keyboard(OLENA)][:1] == ["📝 Передати показники"]
    await link_heat(bot)
    assert "Рахунок Тепло та гаряча вода •••0001 додано" in "\n".join(api.texts(OLENA))
    await bot.press(OLENA, "📝 Передати показники")
    await bot.say(OLENA, "1525,5")
    await bot.press(OLENA, "Без змін")
    summary = await bot.press(OLENA, "Без змін")
    assert "1520,125 → 1525,5 Гкал, споживання 5,375 Гкал" in summary[0]
    receipt = await bot.press(OLENA, "✅ Підтвердити")
    assert "Номер квитанції: KM-2611-" in receipt[0]
    async with bot.server.app.uow_factory() as uow:
        rows = await accepted_readings(uow.session, "heat", Period(2026, 11))
    assert {r[10] for r in rows} == {"telegram"} and len(rows) == 3
    assert all(len(b["callback_data"].encode()) <= 64 for c in api.sent() for row in
               (c.params.get("reply_markup") or {"inline_keyboard": []})["inline_keyboard"] for b in row)


async def test_every_button_press_is_answered_so_the_spinner_stops(bot, api):
    await bot.say(OLENA, "/start")
    for label in ("❓ Довідка", "☰ Меню", "🔔 Нагадування"):
        await bot.press(OLENA, label)
    assert len(api.method_calls("answerCallbackQuery")) == 3


async def test_start_sets_the_webhook_with_its_secret_and_the_command_menus(bot, api):
    for _ in range(100):
        if api.method_calls("setWebhook"):
            break
        await asyncio.sleep(0.02)
    [webhook] = api.method_calls("setWebhook")
    assert webhook.params["url"] == "https://bot.example.org/telegram/webhook"
    assert webhook.params["secret_token"] == SECRET
    assert set(webhook.params["allowed_updates"]) == {"message", "callback_query", "my_chat_member"}
    menus = {c.params.get("language_code"): [x["command"] for x in c.params["commands"]]
             for c in api.method_calls("setMyCommands")}
    assert menus == {None: ["start", "menu", "cancel", "help", "language"], "en": ["start", "menu", "cancel", "help",
                                                                                   "language"]}


async def test_a_request_without_the_right_secret_is_refused_and_not_processed(bot, api):
    assert await bot.post(message_update(OLENA, "/start"), secret=None) == 401
    assert await bot.post(message_update(OLENA, "/start"), secret="wrong") == 401
    await bot.settle()
    assert api.sent(OLENA) == []


@pytest.mark.parametrize("body", [b"not json", b"", b"[1, 2]", b'{"update_id": "x"}', b'{"message": {}}',
                                  b"\xff\xfe"])
async def test_a_body_that_is_not_an_update_gets_400(bot, api, body):
    assert await bot.post(body) == 400


async def test_a_redelivered_update_is_answered_once(bot, api):
    update = message_update(OLENA, "/start", update_id=777)
    assert await bot.post(update) == 200
    await bot.settle()
    assert await bot.post(update) == 200
    await bot.settle()
    assert len(api.texts(OLENA)) == 1  # welcome, privacy notice and menu in one message, once


async def test_a_burst_from_one_resident_gets_every_answer_and_one_consistent_state(bot, api):
    await bot.say(OLENA, "/start")
    before = len(api.texts(OLENA))
    statuses = await asyncio.gather(*(bot.post(message_update(OLENA, "/menu")) for _ in range(15)))
    assert statuses == [200] * 15
    await bot.settle()
    assert api.texts(OLENA)[before:] == ["Головне меню. Що робимо?"] * 15
    async with bot.server.app.uow_factory() as uow:
        session = json.loads((await uow.session.execute(select(ResidentRow.session))).scalar_one())
    assert session["step"] == "menu" and session["seq"] == 1 + 15  # every transition kept, none lost


async def test_updates_the_bot_does_not_handle_are_answered_politely_or_ignored(bot, api):
    await bot.say(OLENA, "/start")
    sticker = {"file_id": "s", "file_unique_id": "u", "type": "regular", "width": 1, "height": 1,
               "is_animated": False, "is_video": False}
    answer = await bot.post(message_update(OLENA, sticker=sticker))
    await bot.settle()
    assert answer == 200 and api.texts(OLENA)[-1].startswith("Я розумію лише текст і кнопки")
    before = len(api.sent())
    edited = message_update(OLENA, "змінено")
    edited["edited_message"] = edited.pop("message")
    group = message_update(-100123, "hello")
    group["message"]["chat"] = {"id": -100123, "type": "group", "title": "Будинок"}
    channel_post = {"update_id": 31337, "channel_post": {"message_id": 1, "date": 0,
                                                         "chat": {"id": -1001, "type": "channel"}, "text": "x"}}
    for ignored in (edited, group, channel_post):
        assert await bot.post(ignored) == 200
    await bot.settle()
    assert len(api.sent()) == before


async def test_a_photo_where_none_is_asked_for_gets_a_polite_answer_and_is_not_kept(bot, api):
    await link_heat(bot)  # at the menu
    api.add_file("big", jpeg())
    photo = [{"file_id": "big", "file_unique_id": "b", "width": 800, "height": 600}]
    await bot.post(message_update(OLENA, photo=photo))
    await bot.settle()
    assert api.texts(OLENA)[-1].startswith("Фото лічильника я приймаю, коли прошу його показник")
    assert "Головне меню" in api.texts(OLENA)[-1]
    assert [n async for n, _ in bot.server.app.photos.store.names()] == []


async def test_a_resident_who_blocks_the_bot_is_unreachable_until_unblocking(bot, api):
    await bot.say(OLENA, "/start")
    await bot.post(member_update(OLENA, "kicked"))
    await bot.settle()
    assert not await reachable(bot, OLENA)
    await bot.post(member_update(OLENA, "member"))
    await bot.settle()
    assert await reachable(bot, OLENA)


async def test_a_403_when_sending_marks_the_resident_unreachable(bot, api):
    await bot.say(OLENA, "/start")
    api.blocked.add(OLENA)
    await bot.say(OLENA, "/help")
    assert not await reachable(bot, OLENA)
    api.blocked.clear()
    await bot.say(OLENA, "/menu")  # writing again makes them reachable
    assert await reachable(bot, OLENA)


async def reachable(bot: TelegramBot, chat: int) -> bool:
    async with bot.server.app.uow_factory() as uow:
        return (await uow.session.execute(
            select(ResidentRow.reachable).where(ResidentRow.external_id == str(chat)))).scalar_one()


async def test_retry_after_is_honoured_and_the_message_still_arrives(bot, api):
    await bot.say(OLENA, "/start")
    api.retry_after["sendMessage"].append(1)
    calls_before = len(api.method_calls("sendMessage"))
    started = asyncio.get_running_loop().time()
    replies = await bot.say(OLENA, "/menu")
    assert replies == ["Головне меню. Що робимо?"]
    assert asyncio.get_running_loop().time() - started >= 1
    assert [c.status for c in api.method_calls("sendMessage")[calls_before:]] == [429, 200]


async def test_health_and_metrics(bot, api):
    await bot.say(OLENA, "/start")
    async with bot.http.get(f"{bot.url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "channels": ["telegram"], "database": "ok"}
    async with bot.http.get(f"{bot.url}/metrics") as response:
        text = await response.text()
    assert 'komunalka_updates_total{channel="telegram",outcome="handled"} 1.0' in text
    assert 'komunalka_replies_sent_total{channel="telegram"} 1.0' in text
    assert "komunalka_handling_seconds_bucket" in text


async def test_polling_mode_records_then_handles(tmp_path, api):
    bot = await start_bot(settings_for(tmp_path, api, public_url=None), api)
    try:
        api.push_update(message_update(OLENA, "/start", update_id=500))
        api.push_update(message_update(OLENA, "/help", update_id=501))
        for _ in range(100):
            if len(api.texts(OLENA)) >= 2:
                break
            await asyncio.sleep(0.05)
        assert api.texts(OLENA)[-1].startswith("Правила передачі показників")
        assert api.method_calls("deleteWebhook") and not api.method_calls("setWebhook")
        offsets = [int(c.params.get("offset") or 0) for c in api.method_calls("getUpdates")]
        assert max(offsets) == 502
    finally:
        await stop_bot(bot)


async def test_a_reply_stored_but_not_sent_before_a_crash_is_sent_at_the_next_start(tmp_path, api):
    settings = settings_for(tmp_path, api)
    await stop_bot(await start_bot(settings, api))
    app = await build_app(settings)  # a step committed by a process that died before sending
    from core.events import ChatRef, Started

    await app.service.handle(Started(ChatRef("telegram", str(OLENA))), outbox=True)
    await app.close()
    assert api.sent(OLENA) == []
    again = await start_bot(settings, api)
    try:
        await wait_for(lambda: api.texts(OLENA), seconds=5)
        await again.pipeline.settle()
        assert api.texts(OLENA)[0].startswith("Вітаю!")
        assert len(api.texts(OLENA)) == 1
    finally:
        await stop_bot(again)


async def test_an_error_in_one_update_tells_the_resident_to_try_again_and_the_bot_carries_on(bot, api, caplog):
    await bot.say(OLENA, "/start")
    await bot.say(OLENA + 1, "/start")
    async with bot.server.app.uow_factory() as uow:  # a broken stored state: the step cannot even begin
        await uow.session.execute(update(ResidentRow).where(ResidentRow.external_id == str(OLENA))
                                  .values(session="{not json"))
        await uow.commit()
    update_id = 99_001
    assert await bot.post(message_update(OLENA, "/menu", update_id=update_id)) == 200
    assert await bot.post(message_update(OLENA + 1, "/help")) == 200
    await bot.settle()
    assert api.texts(OLENA)[-1] == "Вибачте, щось пішло не так. Спробуйте ще раз за хвилину."
    assert api.texts(OLENA + 1)[-1].startswith("Правила передачі показників")
    assert f"telegram event {update_id} set aside" in caplog.text
    assert "{not json" not in caplog.text
    await bot.say(OLENA + 1, "/menu")
    assert api.texts(OLENA + 1)[-1] == "Головне меню. Що робимо?"


async def test_a_history_chart_goes_out_as_a_photo(bot, api):
    from core.events import Chart, ChartLine, ChartPanel, ChatRef, Reply, t
    from core.service import Outcome

    chart = Chart(t("history_chart_title", account="x"), ("2026-10", "2026-11"),
                  (ChartPanel(t("chart_axis", unit=t("unit_gcal")), (ChartLine(t("service_heating"), (1.0, 2.0)),)),))
    await send_directly(bot.channel, Outcome(ChatRef("telegram", str(OLENA)), "uk", (Reply(t("menu"), (), chart),)))
    [photo] = api.method_calls("sendPhoto")
    attached = photo.params[photo.params["photo"].removeprefix("attach://")]  # multipart: the file in its own part
    assert attached["filename"] == "history.png" and attached["size"] > 1000
    assert photo.params["caption"].startswith("Споживання")


async def test_a_chart_not_drawn_in_time_is_left_out_and_the_text_still_goes_out(bot, api, caplog):
    from core.events import Chart, ChartLine, ChartPanel, ChatRef, Reply, t
    from core.service import Outcome

    bot.server.app.charts.time_limit_s = 0.001
    chart = Chart(t("history_chart_title", account="x"), ("2026-10", "2026-11"),
                  (ChartPanel(t("chart_axis", unit=t("unit_gcal")), (ChartLine(t("service_heating"), (1.0, 2.0)),)),))
    await send_directly(bot.channel, Outcome(ChatRef("telegram", str(OLENA)), "uk", (Reply(t("menu"), (), chart),)))
    assert api.method_calls("sendPhoto") == []
    assert api.texts(OLENA) == ["Головне меню. Що робимо?"]
    assert "chart not drawn (TimeoutError)" in caplog.text


async def test_a_bot_that_cannot_set_its_webhook_keeps_serving_and_keeps_trying(tmp_path, api):
    api.retry_after["setWebhook"].extend([1])  # Telegram refuses at first
    started = await start_bot(settings_for(tmp_path, api), api)
    try:
        assert await started.post(message_update(OLENA, "/start")) == 200
        await started.settle()
        assert api.texts(OLENA)[0].startswith("Вітаю!")
        for _ in range(150):
            if [c for c in api.method_calls("setWebhook") if c.status == 200]:
                break
            await asyncio.sleep(0.05)
        assert [c.status for c in api.method_calls("setWebhook")] == [429, 200]
    finally:
        await stop_bot(started)


STALE_NOTICE = "Ця кнопка вже неактуальна."


async def to_summary(bot: TelegramBot, chat: int = OLENA) -> None:
    await link_heat(bot, chat)
    await bot.press(chat, "📝 Передати показники")
    await bot.say(chat, "1525,5")
    await bot.press(chat, "Без змін")
    await bot.press(chat, "Без змін")


async def test_a_menu_button_turns_its_own_message_into_the_next_screen(bot, api):
    await bot.say(OLENA, "/start")
    [menu] = api.live_keyboards(OLENA)
    new_messages = len(api.sent(OLENA))
    assert await bot.press(OLENA, "🏠 Мої рахунки") == ["У вас ще немає доданих рахунків."]
    await bot.press(OLENA, "➕ Додати рахунок")
    assert len(api.sent(OLENA)) == new_messages  # no new message: the screens replaced one another
    assert api.live_keyboards(OLENA) == [menu]
    assert api.messages[OLENA][menu]["text"].startswith("Оберіть постачальника")


async def test_five_quick_taps_on_confirm_give_one_receipt_and_four_notices_on_the_button(bot, api):
    await to_summary(bot)
    taps = [api.tap(OLENA, "✅ Підтвердити") for _ in range(5)]
    shown = len(api.texts(OLENA))
    assert await asyncio.gather(*(bot.post(tap) for tap in taps)) == [200] * 5
    await bot.settle()
    after = api.texts(OLENA)[shown:]
    assert len(after) == 1 and RECEIPT_NUMBER in after[0]  # the receipt, the menu under it, nothing more
    assert api.notices() == [STALE_NOTICE] * 4
    assert len(api.live_keyboards(OLENA)) == 1
    [summary] = [m for m in api.messages[OLENA].values() if "1520,125 → 1525,5" in m["text"]]
    assert "reply_markup" not in summary  # kept as it was, without its buttons


RECEIPT_NUMBER = "Номер квитанції: KM-2611-"


async def test_an_edit_telegram_refuses_as_too_old_comes_as_a_new_message(bot, api):
    await bot.say(OLENA, "/start")
    [menu] = api.live_keyboards(OLENA)
    api.too_old.add(menu)
    shown = await bot.press(OLENA, "❓ Довідка")
    assert shown[0].startswith("Правила передачі показників")
    assert [c.status for c in api.method_calls("editMessageText")] == [400]
    assert api.last_keyboard(OLENA)[0]["text"] == "🌐 Мова / Language"
    async with bot.server.app.uow_factory() as uow:
        assert await uow.outbox.failed(10) == []


async def test_an_edit_sent_again_after_a_crash_counts_as_sent_and_adds_nothing(bot, api):
    from core.events import ChatRef, Reply, t
    from core.service import Outcome
    from bot.delivery.results import Sent

    await bot.say(OLENA, "/start")
    [menu] = api.live_keyboards(OLENA)
    outcome = Outcome(ChatRef("telegram", str(OLENA)), "uk", (Reply(t("menu")),), origin=str(menu))
    for _ in range(2):  # sent, then sent again by a process resuming the row
        assert [await bot.channel.send(m) for m in bot.channel.render(outcome)] == [Sent()]
    assert [c.status for c in api.method_calls("editMessageText")] == [200, 400]
    assert len(api.sent(OLENA)) == 1 and api.live_keyboards(OLENA) == []


async def test_a_press_stored_before_a_crash_edits_its_message_at_the_next_start(tmp_path, api):
    from core.events import ButtonPressed, ChatRef

    settings = settings_for(tmp_path, api)
    first = await start_bot(settings, api)
    await first.say(OLENA, "/start")
    [menu] = api.live_keyboards(OLENA)
    press = ButtonPressed(ChatRef("telegram", str(OLENA)), api.button(OLENA, "❓ Довідка"), str(menu))
    await stop_bot(first)
    app = await build_app(settings)  # a step committed by a process that died before sending
    await app.service.handle(press, outbox=True)
    await app.close()
    again = await start_bot(settings, api)
    try:
        await wait_for(lambda: len(api.texts(OLENA)) == 2, seconds=5)
        assert api.messages[OLENA][menu]["text"].startswith("Правила передачі показників")
        assert len(api.sent(OLENA)) == 1
    finally:
        await stop_bot(again)


async def test_a_payment_qr_goes_out_as_a_photo_that_reads_back_as_the_link_and_the_link_as_text(bot, api):
    import io

    import zxingcpp
    from PIL import Image

    from core.events import ChatRef, PaymentQr, Reply, t
    from core.service import Outcome
    from core.nbu_qr import nbu_link
    from tests.test_nbu_qr import HEAT

    link = nbu_link(HEAT)
    reply = Reply(t("menu"), (), None, PaymentQr(link, t("payment_qr_caption")))
    await send_directly(bot.channel, Outcome(ChatRef("telegram", str(OLENA)), "uk", (reply,)))
    [photo] = api.method_calls("sendPhoto")
    attached = photo.params[photo.params["photo"].removeprefix("attach://")]
    assert attached["filename"] == "payment-qr.png"
    [barcode] = zxingcpp.read_barcodes(Image.open(io.BytesIO(attached["data"])))
    assert barcode.text == link
    assert photo.params["caption"].startswith("Відскануйте QR-код у застосунку банку")
    assert "Бот не бачить даних вашої картки" in photo.params["caption"]
    [text] = api.texts(OLENA)[-1:]
    assert text.startswith("Головне меню. Що робимо?") and text.endswith("\n" + link)
    assert [c.method for c in api.calls if c.method in ("sendPhoto", "sendMessage")] == ["sendPhoto", "sendMessage"]


async def test_a_pressed_button_answered_with_a_payment_qr_is_not_edited_into_the_old_message(bot, api):
    from core.events import ChatRef, PaymentQr, Reply, t
    from core.service import Outcome
    from core.nbu_qr import nbu_link
    from tests.test_nbu_qr import HEAT

    reply = Reply(t("menu"), (), None, PaymentQr(nbu_link(HEAT), t("payment_qr_caption")))
    await send_directly(bot.channel, Outcome(ChatRef("telegram", str(OLENA)), "uk", (reply,), origin="7"))
    assert api.method_calls("editMessageText") == []
    assert len(api.method_calls("sendPhoto")) == 1
