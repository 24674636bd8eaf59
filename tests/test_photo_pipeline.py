"""Meter photos through the real pipeline, against the fake Telegram: fetched beside the inbox, kept, served
to the operator behind the token, and never holding up another resident."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from core.periods import Period
from core.register import parse_register
from core.service import ConversationService
from bot.bootstrap import build_app
from bot.dialogs.table import CONVERSATION
from bot.serve import Server
from storage.readings_export import accepted_readings
from storage.register_store import import_register
from storage.uow import SqlUnitOfWork

from storage.models import ReadingRow
from tests.fake_telegram import message_update
from tests.test_telegram import DEMO, OLENA, TelegramBot, jpeg, link_heat, settings_for, start_bot, stop_bot
from tests.test_telegram_process import wait_for
from tests.test_viber import close_bot

IVAN = 5550002
VIBER_USER = "olena-viber-id=="
TOKEN = "operator-token-1"


@pytest.fixture
def api(telegram):
    return telegram


def photo_update(chat: int, file_id: str, size: int) -> dict:
    """A photo as Telegram sends it: several sizes, the smallest first."""
    return message_update(chat, photo=[
        {"file_id": f"{file_id}-thumb", "file_unique_id": f"t-{file_id}", "width": 90, "height": 68,
         "file_size": 1200},
        {"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": 1280, "height": 960, "file_size": size}])


async def start(tmp_path, api, **extra):
    return await start_bot(settings_for(tmp_path, api, ocr=False, **extra), api)


@asynccontextmanager
async def at_the_prompt(tmp_path, api, **extra) -> AsyncIterator[TelegramBot]:
    """The bot serving, Olena's heat account linked, at her first meter's prompt."""
    bot = await start(tmp_path, api, **extra)
    try:
        await link_heat(bot)
        await bot.press(OLENA, "📝 Передати показники")
        yield bot
    finally:
        await stop_bot(bot)


async def kept_names(bot) -> list[str]:
    """The names of the photos kept in the bot's photo store."""
    photos = bot.server.app.photos
    assert photos is not None
    return [name async for name, _ in photos.store.names()]


async def send_photo(bot, chat: int, file_id: str, data: bytes) -> list[str]:
    bot.api.add_file(file_id, data)
    before = len(bot.api.texts(chat))
    assert await bot.post(photo_update(chat, file_id, len(data))) == 200
    await bot.settle()
    return bot.api.texts(chat)[before:]


async def get(bot, path: str, token: str | None) -> tuple[int, bytes, str]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with bot.http.get(f"{bot.url}{path}", headers=headers) as response:
        return response.status, await response.read(), response.headers.get("Content-Type", "")


async def test_a_telegram_photo_is_kept_with_the_reading_and_served_to_the_operator_alone(tmp_path, api):
    async with at_the_prompt(tmp_path, api, operator_token=TOKEN) as bot:
        replies = await send_photo(bot, OLENA, "photo-1", jpeg((640, 480)))
        assert "Фото додам до показника" in replies[0]
        assert [c.params["file_id"] for c in api.method_calls("getFile")] == ["photo-1"]  # the largest size
        await bot.say(OLENA, "1525,5")
        await bot.press(OLENA, "Без змін")
        await bot.press(OLENA, "Без змін")
        receipt = await bot.press(OLENA, "✅ Підтвердити")
        assert "KM-2611-" in receipt[0]
        async with bot.server.app.uow_factory() as uow:
            name = (await uow.session.scalars(select(ReadingRow.evidence).where(ReadingRow.evidence.is_not(None)))
                    ).one()

        assert (await get(bot, f"/photos/{name}", None))[0] == 401
        assert (await get(bot, f"/photos/{name}", "operator-token-2"))[0] == 401
        assert (await get(bot, f"/photos/{name}", TOKEN[:-1]))[0] == 401
        status, body, kind = await get(bot, f"/photos/{name}", TOKEN)
        assert (status, kind) == (200, "image/jpeg")
        with Image.open(io.BytesIO(body)) as image:
            assert image.size == (640, 480)
        assert (await get(bot, "/photos/0123456789abcdef0123456789abcdef.jpg", TOKEN))[0] == 404
        assert (await get(bot, "/photos/..%2F..%2Fk.db", TOKEN))[0] == 404


async def test_without_an_operator_token_no_photo_is_served(tmp_path, api):
    async with at_the_prompt(tmp_path, api) as bot:
        await send_photo(bot, OLENA, "photo-1", jpeg())
        async with bot.server.app.uow_factory() as uow:
            (name,) = await uow.photos.known(await kept_names(bot))
        for token in (None, "", "anything"):
            assert (await get(bot, f"/photos/{name}", token))[0] == 404


async def test_a_slow_photo_holds_up_its_own_resident_only_and_their_next_message_waits_for_it(tmp_path, api):
    async with at_the_prompt(tmp_path, api) as bot:
        before = len(api.texts(OLENA))
        api.download_delay = 1.5
        api.add_file("slow-1", jpeg((1600, 1200)))
        assert await bot.post(photo_update(OLENA, "slow-1", 50_000)) == 200
        assert await bot.post(message_update(OLENA, "1525,5")) == 200  # typed while the photo downloads
        started = time.monotonic()
        assert await bot.post(message_update(IVAN, "/start")) == 200
        await wait_for(lambda: api.texts(IVAN), seconds=5)
        assert time.monotonic() - started < 1.0  # another resident is answered at once
        assert len(api.texts(OLENA)) == before  # ... while Olena's steps wait for her photo
        await bot.settle()
        after = api.texts(OLENA)[before:]
        assert "Фото додам до показника" in after[0]
        assert after[1].startswith("Лічильник 2 з 3")  # her value, taken after the photo, in the order sent


async def test_a_photo_that_does_not_arrive_in_time_is_explained_and_the_step_stays(tmp_path, api):
    async with at_the_prompt(tmp_path, api, photo_fetch_timeout_seconds=0.5) as bot:
        api.download_delay = 5
        started = time.monotonic()
        replies = await send_photo(bot, OLENA, "slow-1", jpeg((1600, 1200)))
        assert time.monotonic() - started < 3
        assert "Не вдалося отримати фото" in replies[0]
        assert (await bot.say(OLENA, "1525,5"))[0].startswith("Лічильник 2 з 3")
        assert await kept_names(bot) == []
        metrics = (await get(bot, "/metrics", None))[1].decode()
        assert 'komunalka_photos_total{channel="telegram",outcome="unavailable"} 1.0' in metrics


async def test_a_photo_over_the_limit_in_every_size_is_refused_without_downloading_it(tmp_path, api):
    async with at_the_prompt(tmp_path, api, photo_max_bytes=100_000) as bot:
        api.add_file("medium-1", jpeg((800, 600)))
        before = len(api.texts(OLENA))
        assert await bot.post(message_update(OLENA, photo=[  # the largest size that fits is taken
            {"file_id": "medium-1", "file_unique_id": "m1", "width": 800, "height": 600, "file_size": 90_000},
            {"file_id": "huge-1", "file_unique_id": "h1", "width": 4000, "height": 3000, "file_size": 5_000_000}])
        ) == 200
        await bot.settle()
        assert "Фото додам до показника" in api.texts(OLENA)[before]
        assert [c.params["file_id"] for c in api.method_calls("getFile")] == ["medium-1"]
        assert await bot.post(message_update(OLENA, photo=[
            {"file_id": "huge-2", "file_unique_id": "h2", "width": 4000, "height": 3000, "file_size": 5_000_000}])
        ) == 200
        await bot.settle()
        assert "Фото завелике" in api.texts(OLENA)[-1]
        assert len(api.downloads) == 1  # nothing more was fetched


async def test_a_document_that_is_not_a_picture_is_explained(tmp_path, api):
    async with at_the_prompt(tmp_path, api) as bot:
        api.add_file("doc-1", b"%PDF-1.7 not a meter")
        before = len(api.texts(OLENA))
        assert await bot.post(message_update(OLENA, document={
            "file_id": "doc-1", "file_unique_id": "d1", "file_name": "meter.jpg", "mime_type": "image/jpeg",
            "file_size": 20})) == 200
        await bot.settle()
        assert "Це не схоже на фото" in api.texts(OLENA)[before]


async def test_a_photo_in_hand_when_the_bot_stops_is_fetched_after_the_restart(tmp_path, api):
    bot = await start(tmp_path, api)
    await link_heat(bot)
    await bot.press(OLENA, "📝 Передати показники")
    api.download_delay = 30
    api.add_file("photo-1", jpeg())
    assert await bot.post(photo_update(OLENA, "photo-1", 20_000)) == 200
    await wait_for(lambda: api.downloads, seconds=5)
    await asyncio.wait_for(stop_bot(bot), 20)  # the download is cut; the event stays recorded, unhandled
    api.download_delay = 0
    bot = await start(tmp_path, api)
    try:
        await wait_for(lambda: any("Фото додам до показника" in t for t in api.texts(OLENA)), seconds=10)
    finally:
        await stop_bot(bot)


async def viber_at_the_prompt(tmp_path, viber_api, **extra):
    from tests.test_viber import start_bot as start_viber, welcome

    bot = await start_viber(tmp_path, viber_api, ocr=False, **extra)
    try:
        body = await welcome(bot, VIBER_USER)
        [accounts] = [b["ActionBody"] for b in body["keyboard"]["Buttons"] if b["Text"] == "🏠 Мої рахунки"]
        await bot.say(VIBER_USER, accounts)
        await bot.tap(VIBER_USER, "➕ Додати рахунок")
        await bot.tap(VIBER_USER, "Тепло та гаряча вода")
        await bot.say(VIBER_USER, "100000000000001")
        await bot.say(VIBER_USER, "1234,56")
        await bot.tap(VIBER_USER, "📝 Передати показники")
    except BaseException:
        await close_bot(bot)
        raise
    return bot


async def send_picture(bot, media: str, kind: str = "picture", file_name: str = "meter.jpg") -> list[str]:
    from tests.fake_viber import message_callback

    before = len(bot.api.texts(VIBER_USER))
    callback = message_callback(VIBER_USER, type=kind, media=media, thumbnail=media, size=1000,
                                file_name=file_name)
    assert (await bot.post(callback)).status == 200
    await bot.settle()
    return bot.api.texts(VIBER_USER)[before:]


async def test_a_viber_picture_is_fetched_from_its_media_url_and_kept_with_the_reading(tmp_path, viber):
    bot = await viber_at_the_prompt(tmp_path, viber, viber_media_local=True)  # the fake is on this machine
    try:
        wrong = await send_picture(bot, viber.add_media("page.html", b"<html>", "text/html"))
        assert "Це не схоже на фото" in wrong[0]
        replies = await send_picture(bot, viber.add_media("m1.jpg", jpeg()))
        assert "Фото додам до показника" in replies[0]
        assert viber.media_requests == ["page.html", "m1.jpg"]
        await bot.say(VIBER_USER, "1525,5")
        await bot.tap(VIBER_USER, "Без змін")
        await bot.tap(VIBER_USER, "Без змін")
        await bot.tap(VIBER_USER, "✅ Підтвердити")
        async with bot.server.app.uow_factory() as uow:
            kept = await uow.photos.known(await kept_names(bot))
            evidence = set((await uow.session.scalars(select(ReadingRow.evidence))).all())
        assert len(kept) == 1 and evidence == kept | {None}
    finally:
        await close_bot(bot)


async def test_a_viber_file_is_taken_as_the_photo_when_it_is_a_picture_and_refused_unfetched_when_not(
        tmp_path, viber):
    bot = await viber_at_the_prompt(tmp_path, viber, viber_media_local=True)
    try:
        bill = await send_picture(bot, viber.add_media("bill.pdf", b"%PDF-1.7", "application/pdf"), "file", "bill.pdf")
        assert "Це не схоже на фото" in bill[0] and viber.media_requests == []
        sent = await send_picture(bot, viber.add_media("IMG_0042.JPG", jpeg()), "file", "IMG_0042.JPG")
        assert "Фото додам до показника" in sent[0] and viber.media_requests == ["IMG_0042.JPG"]
        assert len(await kept_names(bot)) == 1
    finally:
        await close_bot(bot)


async def test_a_viber_media_url_on_a_local_address_is_never_fetched(tmp_path, viber):
    bot = await viber_at_the_prompt(tmp_path, viber)  # as in production: only public addresses
    try:
        for media in (viber.add_media("m1.jpg", jpeg()), "http://10.0.0.1/m.jpg", "file:///etc/passwd"):
            replies = await send_picture(bot, media)
            assert "Не вдалося отримати фото" in replies[0]
        assert viber.media_requests == []
        assert (await bot.say(VIBER_USER, "1525,5"))[0].startswith("Лічильник 2 з 3")  # the step stayed
    finally:
        await close_bot(bot)


class FlakyMarking:
    """The inbox port of a database that fails, for a moment, to mark the given events handled."""

    def __init__(self, inner, failing: set[str]) -> None:
        self._inner, self._failing = inner, failing

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def mark_handled(self, channel: str, event_id: str, at):
        if event_id in self._failing:
            self._failing.discard(event_id)
            raise OperationalError("UPDATE inbound_events", {}, Exception("database is locked"))
        return await self._inner.mark_handled(channel, event_id, at)


async def test_a_value_that_met_a_database_error_still_goes_before_the_photo_sent_after_it(tmp_path, api):
    settings = settings_for(tmp_path, api, ocr=False, public_url=None)  # polling: both come in one getUpdates
    app = await build_app(settings)
    async with app.uow_factory() as uow:
        await import_register(uow.session, parse_register(DEMO.read_bytes(), app.suppliers))
        await uow.commit()
    made, failing = app.uow_factory(), set[str]()

    class FlakyUnitOfWork(SqlUnitOfWork):
        async def __aenter__(self):
            await super().__aenter__()
            self.inbox = FlakyMarking(self.inbox, failing)  # type: ignore[assignment]  # stands in for SqlInbox
            return self

    def flaky() -> SqlUnitOfWork:
        return FlakyUnitOfWork(made._sessions, made._write_lock)

    app.uow_factory = flaky
    app.service = ConversationService(flaky, CONVERSATION, app.suppliers, app.clock, settings.zone,
                                      photos=app.photos.store if app.photos else None)
    server = Server(app)
    await server.start(reminders=False)
    bot = TelegramBot(server, api)
    try:
        await link_heat(bot)
        await bot.press(OLENA, "📝 Передати показники")
        before = len(api.texts(OLENA))
        api.add_file("photo-1", jpeg())
        value, photo = message_update(OLENA, "1525,5"), photo_update(OLENA, "photo-1", 20_000)
        failing.add(str(value["update_id"]))  # the value, sent first, meets a locked database once
        api.push_update(value)
        api.push_update(photo)  # ... in the same batch as the photo sent after it
        await wait_for(lambda: len(api.texts(OLENA)) >= before + 2, seconds=10)
        replies = api.texts(OLENA)[before:]
        assert replies[0].startswith("Лічильник 2 з 3") and "Фото додам до показника" in replies[1]
        await bot.press(OLENA, "Без змін")
        await bot.press(OLENA, "Без змін")
        await bot.press(OLENA, "✅ Підтвердити")
        async with app.uow_factory() as uow:
            rows = await accepted_readings(uow.session, "heat", Period(2026, 11))
        assert [(r.meter, r.reading, r.photo is not None) for r in rows] == [
            ("HT-0001", Decimal("1525.5"), False), ("HW-1001", Decimal("312.4"), True),  # the photo's meter
            ("HW-1002", Decimal("98.75"), False)]
    finally:
        await stop_bot(bot)
