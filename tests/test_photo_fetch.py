"""Pictures residents send, fetched by each channel against its fake platform on 127.0.0.1: what Telegram
says of a file and the bytes that really come, the time it takes; Viber's media URLs only from where a
picture may come. A refusal is what the resident is told (its problem) and what the operator reads (a log
line with a reason, never a token, a file id or a URL)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from core.events import PhotoProblem, PhotoReceived
from bot.bootstrap import App, build_app
from bot.delivery.adapter import PhotoRefused, Recorded
from bot.metrics import Metrics
from bot.settings import Settings
from bot.telegram.channel import TelegramChannel
from bot.viber.channel import ViberChannel
from tests.fake_telegram import FakeTelegram, message_update
from tests.fake_viber import FakeViber
from tests.test_telegram import OLENA, settings_for

LIMIT = 100_000  # photo_max_bytes in these tests
PICTURE = bytes(range(256)) * 200  # 51 200 bytes: the fetch keeps bytes, the pipeline judges the picture


def sizes(*file_sizes: int | None) -> list[dict[str, Any]]:
    """A photo as Telegram sends it: the same picture scaled several ways, smallest first."""
    return [{"file_id": f"size-{i}", "file_unique_id": f"u{i}", "width": 90 * (i + 1), "height": 60 * (i + 1),
             **({} if size is None else {"file_size": size})} for i, size in enumerate(file_sizes)]


def received(channel: TelegramChannel, **content: Any) -> PhotoReceived:
    event = channel.parse(Recorded("1", json.dumps(message_update(OLENA, **content)))).event
    assert isinstance(event, PhotoReceived)
    return event


async def refused(channel: TelegramChannel | ViberChannel, ref: str, max_bytes: int = LIMIT,
                  timeout_s: float = 5) -> PhotoProblem:
    with pytest.raises(PhotoRefused) as caught:
        await channel.fetch_photo(ref, max_bytes, timeout_s)
    return caught.value.problem


# Telegram

@pytest.fixture
async def tg(tmp_path, telegram):
    app = await build_app(settings_for(tmp_path, telegram, photo_max_bytes=LIMIT))
    channel = TelegramChannel(app, Metrics())
    yield channel
    await channel.close()
    await app.close()


async def test_the_largest_size_within_the_limit_is_the_one_fetched(tg, telegram: FakeTelegram):
    event = received(tg, photo=sizes(5_000, 40_000, 90_000, 400_000))
    assert event.ref == "size-2" and event.problem is None
    telegram.add_file("size-2", PICTURE)
    assert await tg.fetch_photo(event.ref, LIMIT, 5) == PICTURE


async def test_a_photo_over_the_limit_in_every_size_is_too_large_before_anything_is_fetched(tg, telegram):
    event = received(tg, photo=sizes(150_000, 400_000, 900_000))
    assert event.problem is PhotoProblem.TOO_LARGE and event.ref == "size-2"
    assert event.fetched  # the pipeline asks Telegram nothing more
    assert telegram.method_calls("getFile") == []


async def test_a_photo_without_sizes_is_taken_in_its_largest_form_and_counted_as_it_comes(tg):
    event = received(tg, photo=sizes(None, None, None))
    assert event.ref == "size-2" and event.problem is None


async def test_a_picture_sent_as_a_file_is_fetched_like_a_photo(tg, telegram):
    document = {"file_id": "doc-1", "file_unique_id": "d1", "file_name": "лічильник.png", "mime_type": "image/png",
                "file_size": len(PICTURE)}
    event = received(tg, document=document)
    assert event.ref == "doc-1" and event.problem is None
    telegram.add_file("doc-1", PICTURE)
    assert await tg.fetch_photo(event.ref, LIMIT, 5) == PICTURE


async def test_a_file_is_judged_by_its_type_and_size_before_it_is_fetched(tg):
    def document(name: str, mime: str | None, size: int) -> dict[str, Any]:
        return {"file_id": name, "file_unique_id": name, "file_name": name, "file_size": size,
                **({"mime_type": mime} if mime else {})}

    assert received(tg, document=document("scan.pdf", "application/pdf", 9_000)).problem is PhotoProblem.NOT_IMAGE
    assert received(tg, document=document("meter.mp4", "video/mp4", 9_000)).problem is PhotoProblem.NOT_IMAGE
    assert received(tg, document=document("huge.jpg", "image/jpeg", LIMIT + 1)).problem is PhotoProblem.TOO_LARGE
    assert received(tg, document=document("meter.jpg", None, 9_000)).problem is None  # the name tells


async def test_a_file_telegram_declares_over_the_limit_is_not_downloaded(tg, telegram):
    telegram.add_file("doc-2", PICTURE, declared_size=LIMIT + 1)
    assert await refused(tg, "doc-2") is PhotoProblem.TOO_LARGE
    assert telegram.downloads == []


async def test_a_file_telegram_will_not_give_bots_is_too_large(tg, telegram):
    telegram.add_file("doc-21mb", PICTURE)
    telegram.failures["getFile"].append("too_big")
    assert await refused(tg, "doc-21mb") is PhotoProblem.TOO_LARGE


async def test_a_file_larger_than_declared_is_cut_off_at_the_limit(tg, telegram):
    telegram.add_file("doc-3", PICTURE * 5, declared_size=len(PICTURE))
    assert await refused(tg, "doc-3") is PhotoProblem.TOO_LARGE


async def test_a_download_slower_than_the_timeout_is_given_up_in_about_the_timeout(tg, telegram):
    telegram.add_file("slow", PICTURE)
    telegram.download_delay = 10
    started = time.monotonic()
    assert await refused(tg, "slow", timeout_s=0.5) is PhotoProblem.UNAVAILABLE
    assert 0.4 < time.monotonic() - started < 1.5


@pytest.mark.parametrize("failure", ["502", "html", "drop"])
async def test_get_file_failing_leaves_the_photo_unavailable(tg, telegram, failure):
    telegram.add_file("doc-4", PICTURE)
    telegram.failures["getFile"].append(failure)
    assert await refused(tg, "doc-4") is PhotoProblem.UNAVAILABLE


async def test_an_unknown_file_is_unavailable_and_the_log_names_neither_the_file_nor_the_token(tg, telegram, caplog):
    caplog.set_level(logging.INFO)
    assert await refused(tg, "file-id-of-olena") is PhotoProblem.UNAVAILABLE
    assert "TelegramBadRequest" in caplog.text
    assert "file-id-of-olena" not in caplog.text and telegram.token not in caplog.text


@pytest.mark.parametrize("failures", [["404"], ["drop", "drop"]])  # aiohttp tries a dropped GET once more
async def test_a_download_that_fails_is_unavailable_and_its_url_is_not_logged(tg, telegram, caplog, failures):
    caplog.set_level(logging.INFO)
    telegram.add_file("doc-6", PICTURE)
    telegram.download_failures.extend(failures)
    with pytest.raises(PhotoRefused) as caught:
        await tg.fetch_photo("doc-6", LIMIT, 5)
    assert caught.value.problem is PhotoProblem.UNAVAILABLE
    assert caught.value.__suppress_context__  # a logged traceback shows no aiohttp error, whose text has the URL
    assert "photo not fetched" in caplog.text
    assert telegram.token not in caplog.text and "doc-6" not in caplog.text and "photos/" not in caplog.text
    assert telegram.token not in str(caught.value)


# Viber

@pytest.fixture
async def viber_channel(tmp_path, viber):
    """A Viber channel; ``media_local``: the fake's media on 127.0.0.1 may be fetched."""
    made: list[ViberChannel] = []
    apps: list[App] = []

    async def make(media_local: bool) -> ViberChannel:
        app = await build_app(Settings(
            _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / f'v{len(apps)}.db'}",
            viber_token=viber.token, viber_api_url=viber.url, public_url="https://bot.example.org",
            viber_media_local=media_local))
        apps.append(app)
        made.append(ViberChannel(app, Metrics()))
        return made[-1]

    yield make
    for channel in made:
        await channel.close()
    for app in apps:
        await app.close()


@pytest.fixture
async def vb(viber_channel):
    return await viber_channel(True)


async def test_a_viber_picture_is_fetched_from_its_media_url(vb, viber: FakeViber):
    url = viber.add_media("meter.jpg", PICTURE)
    assert await vb.fetch_photo(url, LIMIT, 5) == PICTURE


async def test_a_media_url_on_this_machine_is_refused_unless_the_fake_viber_is_there(viber_channel, viber, caplog):
    caplog.set_level(logging.INFO)
    url = viber.add_media("meter.jpg", PICTURE)
    assert await refused(await viber_channel(False), url) is PhotoProblem.UNAVAILABLE
    assert viber.media_requests == []
    assert "not a public address" in caplog.text and url not in caplog.text


@pytest.mark.parametrize("media_local", [False, True])
async def test_media_urls_that_lead_off_the_public_internet_are_refused_without_connecting(viber_channel, viber,
                                                                                          media_local, caplog):
    caplog.set_level(logging.INFO)
    channel = await viber_channel(media_local)
    port = viber.url.split(":")[2].split("/")[0]
    urls = ["http://10.0.0.1/meter.jpg", "http://169.254.169.254/latest/meta-data/", "http://192.168.1.1/x.jpg",
            "http://[fe80::1]/x.jpg", "http://[::ffff:10.0.0.1]/x.jpg", "file:///etc/passwd", "ftp://10.0.0.1/x.jpg",
            "http://2130706433/x.jpg",  # 127.0.0.1 written as a number
            "http://[64:ff9b:1::a00:1]/x.jpg", "http://[fec0::1]/x.jpg"]  # local NAT64, site-local: not public
    if not media_local:
        urls += [f"http://[::1]:{port}/media/meter.jpg", f"http://localhost:{port}/media/meter.jpg",
                 f"http://127.0.0.1:{port}/media/meter.jpg"]
    viber.add_media("meter.jpg", PICTURE)
    started = time.monotonic()
    for url in urls:
        assert await refused(channel, url, timeout_s=5) is PhotoProblem.UNAVAILABLE, url
    assert time.monotonic() - started < 1  # no connection was tried: 10.0.0.1 would not answer in time
    assert viber.media_requests == []
    assert "10.0.0.1" not in caplog.text and "localhost" not in caplog.text
    if not media_local:  # a name is judged by the addresses it resolves to, those the connection would use
        assert "photo not fetched (not a public address)" in caplog.text


async def test_a_redirect_is_followed_to_a_picture_but_never_off_the_public_internet(vb, viber, caplog):
    caplog.set_level(logging.INFO)
    viber.add_media("meter.jpg", PICTURE)
    assert await vb.fetch_photo(viber.add_media("moved", redirect=viber.media_url("meter.jpg")), LIMIT, 5) == PICTURE
    to_metadata = viber.add_media("sly", redirect="http://169.254.169.254/latest/meta-data/")
    assert await refused(vb, to_metadata) is PhotoProblem.UNAVAILABLE
    to_file = viber.add_media("slier", redirect="file:///etc/passwd")
    assert await refused(vb, to_file) is PhotoProblem.UNAVAILABLE
    assert "not a public address" in caplog.text and "169.254" not in caplog.text


async def test_redirects_end_after_three_hops(vb, viber):
    viber.add_media("a", redirect=viber.media_url("b"))
    viber.add_media("b", redirect=viber.media_url("a"))
    assert await refused(vb, viber.media_url("a")) is PhotoProblem.UNAVAILABLE
    assert len(viber.media_requests) == 4


async def test_a_slow_media_server_is_given_up_in_about_the_timeout(vb, viber):
    url = viber.add_media("slow.jpg", PICTURE, delay=10)
    started = time.monotonic()
    assert await refused(vb, url, timeout_s=0.5) is PhotoProblem.UNAVAILABLE
    assert 0.4 < time.monotonic() - started < 1.5


async def test_a_page_instead_of_a_picture_is_not_an_image(vb, viber):
    url = viber.add_media("login", b"<html><body>Sign in</body></html>", "text/html")
    assert await refused(vb, url) is PhotoProblem.NOT_IMAGE


async def test_a_missing_picture_is_unavailable(vb, viber):
    assert await refused(vb, viber.media_url("never-sent.jpg")) is PhotoProblem.UNAVAILABLE


async def test_a_picture_over_the_limit_is_too_large_by_its_length_before_it_is_read(vb, viber):
    url = viber.add_media("big.jpg", PICTURE * 3, delay=10)  # reading the body would take 10 s
    started = time.monotonic()
    assert await refused(vb, url, timeout_s=5) is PhotoProblem.TOO_LARGE
    assert time.monotonic() - started < 1


async def test_a_picture_without_a_length_is_cut_off_at_the_limit(vb, viber):
    url = viber.add_media("endless.jpg", PICTURE * 3, chunked=True)
    assert await refused(vb, url) is PhotoProblem.TOO_LARGE
