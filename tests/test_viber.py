"""The Viber channel against a fake Viber REST API on 127.0.0.1, driven over the real webhook."""

from __future__ import annotations

import asyncio

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from core.ports import PictureStore
from core.events import Chart, ChartLine, ChartPanel, ChatRef, Reply, t
from core.periods import Period
from core.service import Outcome
from core.register import parse_register
from bot.bootstrap import build_app
from bot.serve import Server
from bot.settings import Settings
from bot.viber.channel import ViberChannel
from storage.models import InboundEventRow, ResidentRow
from storage.readings_export import accepted_readings
from storage.register_store import import_register
from tests.conftest import KYIV
from tests.fake_viber import (
    FakeViber,
    conversation_started,
    delivery,
    message_callback,
    sign,
    subscribed,
    unsubscribed,
)
from tests.test_telegram_process import free_port

DEMO = Path(__file__).resolve().parent.parent / "demo" / "register.csv"
OLENA = "01234567890A="
PRIVACY = "Що я зберігаю"


class ViberBot:
    def __init__(self, server: Server, api: FakeViber) -> None:
        self.server, self.api = server, api
        channel = server.channels[0]
        assert isinstance(channel, ViberChannel)
        self.channel = channel
        self.pipeline = server.pipelines[0]
        self.url = f"http://127.0.0.1:{server.http.port}"
        self.http = aiohttp.ClientSession()

    async def post(self, callback: dict | bytes, signature: str | None = "sign") -> aiohttp.ClientResponse:
        body = callback if isinstance(callback, bytes) else json.dumps(callback, ensure_ascii=False).encode()
        headers = {} if signature is None else {"X-Viber-Content-Signature": sign(body) if signature == "sign"
                                                else signature}
        response = await self.http.post(f"{self.url}/viber/webhook", data=body, headers=headers)
        await response.read()
        return response

    async def settle(self) -> None:
        await self.pipeline.settle()

    async def say(self, user: str, text: str) -> list[str]:
        before = len(self.api.texts(user))
        assert (await self.post(message_callback(user, text))).status == 200
        await self.settle()
        return self.api.texts(user)[before:]

    async def tap(self, user: str, label: str) -> list[str]:
        return await self.say(user, self.api.button(user, label))


@pytest.fixture
def api(viber):
    return viber


async def start_bot(tmp_path: Path, api: FakeViber, pictures: Callable[[PictureStore], PictureStore] | None = None,
                    **extra: object) -> ViberBot:
    """``pictures`` wraps the bot's picture store (its database) in a test's own."""
    port = free_port()
    api.local_webhook = f"http://127.0.0.1:{port}/viber/webhook"
    values: dict[str, Any] = dict(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'k.db'}", viber_token=api.token, viber_api_url=api.url,
        viber_name="Комуналка", public_url="https://bot.example.org", http_host="127.0.0.1", http_port=port,
        clock=datetime(2026, 11, 20, 12, tzinfo=KYIV))
    values.update(extra)
    app = await build_app(Settings(_env_file=None, **values))
    async with app.uow_factory() as uow:
        await import_register(uow.session, parse_register(DEMO.read_bytes(), app.suppliers))
        await uow.commit()
    if pictures is not None and app.pictures is not None:
        app.pictures = pictures(app.pictures)
    server = Server(app)
    await server.start(reminders=False)
    bot = ViberBot(server, api)
    bot.channel.backoff_s = 0.05
    for _ in range(200):  # set_webhook runs in the background, once the server listens
        if api.webhook_check_status is not None:
            break
        await asyncio.sleep(0.02)
    return bot


@pytest.fixture
async def bot(tmp_path, api):
    started = await start_bot(tmp_path, api)
    yield started
    await close_bot(started)


async def close_bot(bot: ViberBot) -> None:
    await bot.http.close()
    await bot.server.stop()
    await bot.server.app.close()


async def send_directly(channel, outcome) -> None:
    for message in channel.render(outcome):
        await channel.send(message)


async def welcome(bot: ViberBot, user: str = OLENA) -> dict:
    response = await bot.post(conversation_started(user))
    assert response.status == 200
    return await response.json()


async def test_start_sets_the_webhook_and_answers_viber_s_check(bot, api):
    [call] = [c for c in api.calls if c.method == "set_webhook"]
    assert call.body["url"] == "https://bot.example.org/viber/webhook"
    assert "conversation_started" in call.body["event_types"]
    assert api.webhook_check_status == 200


async def test_conversation_started_gets_the_welcome_with_the_menu_in_the_response(bot, api):
    body = await welcome(bot)
    assert body["type"] == "text" and body["text"].startswith("Вітаю! Я Комуналка")
    assert "Що я зберігаю" in body["text"] and body["sender"]["name"] == "Комуналка"
    buttons = body["keyboard"]["Buttons"]
    assert [b["Text"] for b in buttons][:1] == ["📝 Передати показники"]
    assert all(b["ActionType"] == "reply" and b["ActionBody"].startswith("kb:") for b in buttons)
    assert body["min_api_version"] >= 7
    assert api.sent() == []  # nothing else may be sent before the resident writes


async def test_the_whole_conversation_in_viber_ends_in_the_export(bot, api):
    body = await welcome(bot)
    [accounts] = [b["ActionBody"] for b in body["keyboard"]["Buttons"] if b["Text"] == "🏠 Мої рахунки"]
    await bot.say(OLENA, accounts)  # a tap on the welcome's keyboard comes back as its ActionBody
    await bot.tap(OLENA, "➕ Додати рахунок")
    await bot.tap(OLENA, "Тепло та гаряча вода")
    await bot.say(OLENA, "100000000000001")
    linked = await bot.say(OLENA, "1234,56")
    assert "Рахунок Тепло та гаряча вода •••0001 додано" in linked[0]
    await bot.tap(OLENA, "📝 Передати показники")
    await bot.say(OLENA, "1525,5")
    await bot.tap(OLENA, "Без змін")
    summary = await bot.tap(OLENA, "Без змін")
    assert "1520,125 → 1525,5 Гкал, споживання 5,375 Гкал" in summary[0]
    receipt = await bot.tap(OLENA, "✅ Підтвердити")
    assert "Номер квитанції: KM-2611-" in receipt[0]
    async with bot.server.app.uow_factory() as uow:
        rows = await accepted_readings(uow.session, "heat", Period(2026, 11))
    assert {r[10] for r in rows} == {"viber"} and len(rows) == 3


async def test_a_missing_or_wrong_signature_gets_403_and_nothing_happens(bot, api):
    assert (await bot.post(message_callback(OLENA, "/start"), signature=None)).status == 403
    assert (await bot.post(message_callback(OLENA, "/start"), signature="0" * 64)).status == 403
    body = json.dumps(message_callback(OLENA, "/start")).encode()
    assert (await bot.post(body, signature=sign(body, "another-token"))).status == 403
    await bot.settle()
    assert api.sent() == []


@pytest.mark.parametrize("body", [b"not json", b"", b"[]", b'{"event": 5}', b'{"timestamp": 1}',
                                  json.dumps({"event": "message", "message_token": 1, "sender": {"id": "x"}}).encode(),
                                  json.dumps({"event": "message", "message_token": "1", "sender": {"id": "x"},
                                              "message": {"type": "text", "text": "a"}}).encode(),
                                  json.dumps({"event": "message", "message_token": 1.5e18, "sender": {"id": "x"},
                                              "message": {"type": "text", "text": "a"}}).encode(),
                                  json.dumps({"event": "conversation_started", "user": {}}).encode(),
                                  json.dumps({"event": "unsubscribed"}).encode()])
async def test_a_body_that_is_not_a_callback_gets_400(bot, body):
    assert (await bot.post(body)).status == 400


@pytest.mark.parametrize("event", ["delivered", "seen", "failed", "client_status", "something_new"])
async def test_status_events_and_unknown_ones_get_200_and_nothing_else(bot, api, event):
    assert (await bot.post(delivery(event, OLENA))).status == 200
    await bot.settle()
    assert api.sent() == []


async def test_a_redelivered_callback_is_handled_once_even_with_tokens_beyond_float_precision(bot, api):
    await welcome(bot)
    first, second = 2**62 + 1, 2**62 + 2  # equal as floats
    for token in (first, first, second):
        assert (await bot.post(message_callback(OLENA, "/help", token=token))).status == 200
    await bot.settle()
    assert len([t for t in api.texts(OLENA) if t.startswith("Правила")]) == 2
    async with bot.server.app.uow_factory() as uow:
        ids = set((await uow.session.execute(select(InboundEventRow.event_id))).scalars())
    assert {str(first), str(second)} <= ids


async def test_unicode_text_and_tracking_data_reach_the_conversation(bot, api):
    await welcome(bot)
    replies = await bot.say(OLENA, "допомога")
    assert replies[0].startswith("Правила передачі показників")


async def test_an_unsubscribed_resident_is_unreachable_until_they_write_again(bot, api):
    await welcome(bot)
    assert (await bot.post(unsubscribed(OLENA))).status == 200
    assert not await reachable(bot, OLENA)
    await bot.say(OLENA, "/menu")
    assert await reachable(bot, OLENA)
    await bot.post(unsubscribed(OLENA))
    assert (await bot.post(subscribed(OLENA))).status == 200
    assert await reachable(bot, OLENA)


async def reachable(bot: ViberBot, user: str) -> bool:
    async with bot.server.app.uow_factory() as uow:
        return (await uow.session.execute(
            select(ResidentRow.reachable).where(ResidentRow.external_id == user))).scalar_one()


async def test_status_6_when_sending_marks_the_resident_unreachable(bot, api):
    await welcome(bot)
    api.statuses[OLENA].append(6)
    await bot.say(OLENA, "/help")
    assert not await reachable(bot, OLENA)


async def test_status_12_backs_off_and_the_message_still_arrives(bot, api):
    await welcome(bot)
    api.statuses[OLENA].extend([12, 12])
    replies = await bot.say(OLENA, "/menu")
    assert replies == ["Головне меню. Що робимо?"]
    statuses = [c.status for c in api.calls if c.method == "send_message"]
    assert statuses[-3:] == [12, 12, 0]


async def test_a_tap_is_a_button_but_text_that_looks_like_a_payload_is_not_trusted(bot, api):
    await welcome(bot)
    stale = await bot.say(OLENA, "kb:99.confirm")
    assert stale[0].startswith("Ця кнопка вже неактуальна")
    typed = await bot.say(OLENA, "1.submit")  # no keyboard prefix: typed text, not a press
    assert typed[0].startswith("Будь ласка, скористайтеся кнопками")


async def test_a_stale_tap_in_viber_shows_the_current_screen_again_with_its_keyboard(bot, api):
    await welcome(bot)
    await bot.say(OLENA, "/menu")
    old = api.button(OLENA, "🏠 Мої рахунки")
    await bot.tap(OLENA, "❓ Довідка")
    shown = await bot.say(OLENA, old)
    assert shown[0].startswith("Ця кнопка вже неактуальна") and "Правила передачі показників" in shown[0]
    assert api.button(OLENA, "🌐 Мова / Language")  # Viber's keyboard belongs to the last message: sent again


async def test_a_sticker_gets_a_polite_answer(bot, api):
    await welcome(bot)
    assert (await bot.post(message_callback(OLENA, type="sticker", sticker_id=46105))).status == 200
    await bot.settle()
    assert api.texts(OLENA)[-1].startswith("Я розумію лише текст і кнопки")


async def test_a_notice_without_buttons_leaves_a_way_back_to_the_resident_s_screen_with_the_draft_kept(bot, api):
    """Viber's keyboard is the last message's: a message without one would leave the resident no buttons."""
    body = await welcome(bot)
    await bot.say(OLENA, *[b["ActionBody"] for b in body["keyboard"]["Buttons"] if b["Text"] == "🏠 Мої рахунки"])
    await bot.tap(OLENA, "➕ Додати рахунок")
    await bot.tap(OLENA, "Тепло та гаряча вода")
    await bot.say(OLENA, "100000000000001")
    await bot.say(OLENA, "1234,56")
    await bot.tap(OLENA, "📝 Передати показники")
    assert (await bot.say(OLENA, "1525,5"))[-1].startswith("Лічильник 2 з 3")
    # a household member's change arrives meanwhile, as a message of its own
    await send_directly(bot.channel, Outcome(ChatRef("viber", OLENA), "uk", (Reply(t("use_buttons")),)))
    assert [b["Text"] for b in api.sent(OLENA)[-1].body["keyboard"]["Buttons"]] == ["↩ Продовжити"]
    assert (await bot.tap(OLENA, "↩ Продовжити"))[-1].startswith("Лічильник 2 з 3")  # where she was
    await bot.tap(OLENA, "Без змін")
    assert "1525,5" in (await bot.tap(OLENA, "Без змін"))[-1]  # the first value kept: the summary shows it


async def test_after_forget_me_the_way_back_greets_a_stranger_and_tells_the_notice(bot, api):
    body = await welcome(bot)
    await bot.say(OLENA, *[b["ActionBody"] for b in body["keyboard"]["Buttons"] if b["Text"] == "❓ Довідка"])
    await bot.tap(OLENA, "🗑 Забути мене")
    done = await bot.tap(OLENA, "Так, видалити")
    assert "видалено" in done[-1]
    again = "\n".join(await bot.tap(OLENA, "↩ Продовжити"))
    assert "Вітаю" in again and "Головне меню" in again and PRIVACY in again


async def test_history_chart_is_a_picture_served_from_the_bot_under_an_unguessable_name(bot, api):
    chart = Chart(t("history_chart_title", account="x"), ("2026-10", "2026-11"),
                  (ChartPanel(t("chart_axis", unit=t("unit_gcal")), (ChartLine(t("service_heating"), (1.0, 2.0)),)),))
    await send_directly(bot.channel, Outcome(ChatRef("viber", OLENA), "uk", (Reply(t("menu"), (), chart),)))
    [picture] = [c for c in api.sent(OLENA) if c.body["type"] == "picture"]
    assert picture.body["media"].startswith("https://bot.example.org/viber/media/")
    name = picture.body["media"].rsplit("/", 1)[1]
    assert len(name) >= 32
    async with bot.http.get(f"{bot.url}/viber/media/{name}") as response:
        assert response.status == 200 and (await response.read()).startswith(b"\x89PNG")
    async with bot.http.get(f"{bot.url}/viber/media/guess.png") as response:
        assert response.status == 404


async def test_a_picture_is_served_by_every_process_of_the_bot_after_the_sender_stops_and_for_a_week(api, tmp_path):
    """A load balancer may send Viber's fetch to any process, and a restart must not lose a picture."""
    chart = Chart(t("history_chart_title", account="x"), ("2026-10", "2026-11"),
                  (ChartPanel(t("chart_axis", unit=t("unit_gcal")), (ChartLine(t("service_heating"), (1.0, 2.0)),)),))
    outcome = Outcome(ChatRef("viber", OLENA), "uk", (Reply(t("menu"), (), chart),))
    sender = await start_bot(tmp_path, api)
    other = await start_bot(tmp_path, api)  # a second process on the same database
    try:
        try:
            await send_directly(sender.channel, outcome)
            [picture] = [c for c in api.sent(OLENA) if c.body["type"] == "picture"]
            path = "/viber/media/" + picture.body["media"].rsplit("/", 1)[1]
            async with sender.http.get(sender.url + path) as response:
                drawn = await response.read()
        finally:
            await close_bot(sender)
        async with other.http.get(other.url + path) as response:
            assert response.status == 200 and await response.read() == drawn
        week_later = await start_bot(tmp_path, api, clock=datetime(2026, 11, 27, 12, 0, 1, tzinfo=KYIV))
        try:
            await send_directly(week_later.channel, outcome)  # storing a picture drops those over a week old
            newest = [c for c in api.sent(OLENA) if c.body["type"] == "picture"][-1].body["media"]
            async with week_later.http.get(week_later.url + path) as response:
                assert response.status == 404
            async with other.http.get(newest.replace("https://bot.example.org", other.url)) as response:
                assert response.status == 200
        finally:
            await close_bot(week_later)
    finally:
        await close_bot(other)


class DatabaseThatMayFail:
    """The bot's picture store, whose database can stop answering (and answer again)."""

    def __init__(self, real: PictureStore) -> None:
        self.real, self.down = real, False

    async def put(self, name: str, png: bytes, receiver: ChatRef) -> None:
        if self.down:
            raise ConnectionRefusedError("the database does not answer")
        await self.real.put(name, png, receiver)

    async def get(self, name: str) -> bytes | None:
        if self.down:
            raise ConnectionRefusedError("the database does not answer")
        return await self.real.get(name)


async def test_a_picture_the_database_cannot_keep_is_sent_later_and_a_fetch_meanwhile_is_told_to_retry(
        tmp_path, api):
    from bot.delivery.results import RetryLater, Sent

    bot = await start_bot(tmp_path, api, pictures=DatabaseThatMayFail)
    pictures = bot.server.app.pictures
    assert isinstance(pictures, DatabaseThatMayFail)
    try:
        chart = Chart(t("history_chart_title", account="x"), ("2026-10", "2026-11"), (ChartPanel(
            t("chart_axis", unit=t("unit_gcal")), (ChartLine(t("service_heating"), (1.0, 2.0)),)),))
        outcome = Outcome(ChatRef("viber", OLENA), "uk", (Reply(t("menu"), (), chart),))
        picture = bot.channel.render(outcome)[0]
        await send_directly(bot.channel, outcome)
        [sent] = [c for c in api.sent(OLENA) if c.body["type"] == "picture"]
        pictures.down = True
        async with bot.http.get(sent.body["media"].replace("https://bot.example.org", bot.url)) as response:
            assert response.status == 503  # Viber tries again; a 404 would be final
        assert isinstance(await bot.channel.send(picture), RetryLater)
        assert len([c for c in api.sent(OLENA) if c.body["type"] == "picture"]) == 1  # no URL to nothing
        pictures.down = False
        assert isinstance(await bot.channel.send(picture), Sent)
        newest = [c for c in api.sent(OLENA) if c.body["type"] == "picture"][-1]
        async with bot.http.get(newest.body["media"].replace("https://bot.example.org", bot.url)) as response:
            assert response.status == 200 and (await response.read()).startswith(b"\x89PNG")
    finally:
        await close_bot(bot)


async def test_a_payment_qr_is_a_picture_that_reads_back_as_the_link_followed_by_the_link_as_text(bot, api):
    import io

    import zxingcpp
    from PIL import Image

    from core.events import PaymentQr
    from core.nbu_qr import nbu_link
    from tests.test_nbu_qr import HEAT

    link = nbu_link(HEAT)
    reply = Reply(t("menu"), (), None, PaymentQr(link, t("payment_qr_caption")))
    await send_directly(bot.channel, Outcome(ChatRef("viber", OLENA), "en", (reply,)))
    picture, text = api.sent(OLENA)[-2:]
    assert picture.body["type"] == "picture" and text.body["type"] == "text"
    assert picture.body["text"] == ("Scan the QR code in your bank's app: the details and the amount fill in by "
                                    "themselves. The bot never sees your card.")
    async with bot.http.get(picture.body["media"].replace("https://bot.example.org", bot.url)) as response:
        assert response.status == 200
        [barcode] = zxingcpp.read_barcodes(Image.open(io.BytesIO(await response.read())))
    assert barcode.text == link
    assert text.body["text"].startswith("Main menu") and text.body["text"].endswith("\n" + link)
