"""Where photos are kept: the folder (names, whole writes), what is kept of a picture, their records, the purge."""

from __future__ import annotations

import io
import os
import tempfile
import zlib
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select

from core.domain import ReadingKind, ReadingStatus
from core.events import ChatRef, PhotoProblem
from core.periods import Period
from core.ports import NewReading, Submission
from bot.delivery.adapter import PhotoRefused
from bot.photos.intake import MAX_PIXELS, as_jpeg
from bot.photos.purge import LOOSE_DAYS, purge_photos
from bot.photos.store import NAME, LocalPhotoStore, photo_dir
from storage.models import PhotoRow, ReadingRow
from tests.test_storage import NOW, load_demo

RETENTION = timedelta(days=3 * 365)


async def test_photos_are_kept_whole_under_names_nobody_can_guess(tmp_path):
    store = LocalPhotoStore(tmp_path / "photos")
    names = [await store.save(f"photo {n}".encode()) for n in range(200)]
    assert len(set(names)) == 200 and all(NAME.fullmatch(n) for n in names)  # 128 random bits each
    assert len({n[:2] for n in names}) > 50  # spread over folders: a city's photos do not crowd one
    assert await store.load(names[7]) == b"photo 7"
    assert sorted([n async for n, _ in store.names()]) == sorted(names)
    assert await store.delete(names[7]) and not await store.delete(names[7])
    assert await store.load(names[7]) is None


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "ab/../../x.jpg", "A" * 32 + ".jpg",
                                  "0123456789abcdef0123456789abcdef.png", ""])
async def test_a_name_that_is_not_one_of_ours_never_reaches_the_disk(tmp_path, name):
    store = LocalPhotoStore(tmp_path / "photos")
    (tmp_path / "etc").mkdir()
    assert store.path_of(name) is None
    assert await store.load(name) is None and not await store.delete(name)


async def test_a_write_cut_short_is_never_a_photo_and_is_cleared_after_a_day(tmp_path):
    store = LocalPhotoStore(tmp_path / "photos")
    kept = await store.save(b"whole")
    folder = tmp_path / "photos" / kept[:2]
    handle, partial = tempfile.mkstemp(dir=folder, prefix=".part-")  # what a crash mid-write leaves behind
    os.write(handle, b"half a pho")
    os.close(handle)
    assert [n async for n, _ in store.names()] == [kept]
    assert await store.remove_partials(datetime.now(timezone.utc) - timedelta(days=1)) == 0  # may be in progress
    assert await store.remove_partials(datetime.now(timezone.utc) + timedelta(seconds=1)) == 1
    assert not os.path.exists(partial) and await store.load(kept) == b"whole"


async def test_a_write_that_fails_leaves_nothing_behind(tmp_path):
    store = LocalPhotoStore(tmp_path / "photos")
    with pytest.raises(TypeError):
        await store.save("not bytes")  # type: ignore[arg-type]  # fails inside the write, after the file opened
    assert [p for p in (tmp_path / "photos").rglob("*") if p.is_file()] == []


def test_photos_sit_beside_the_sqlite_file_unless_configured(tmp_path):
    assert photo_dir(f"sqlite+aiosqlite:///{tmp_path}/k.db", None) == tmp_path / "photos"
    assert photo_dir("sqlite+aiosqlite:///k.db", None).as_posix() == "photos"
    assert photo_dir("postgresql+asyncpg://u@h/db", None).as_posix() == "photos"
    assert photo_dir("sqlite+aiosqlite:///x.db", tmp_path / "elsewhere") == tmp_path / "elsewhere"


def jpeg(size=(400, 300), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG", **save)
    return out.getvalue()


def test_a_kept_photo_is_upright_and_carries_no_location():
    exif = Image.Exif()
    exif[0x0112] = 6  # taken with the phone on its side: to be turned 90°
    exif[0x8825] = {1: "N", 2: (50.0, 27.0, 0.0), 3: "E", 4: (30.0, 31.0, 0.0)}  # GPS: the resident's home
    kept = as_jpeg(jpeg(exif=exif.tobytes(), comment=b"Olena's flat, 12 Khreshchatyk St"))
    with Image.open(io.BytesIO(kept)) as image:
        assert image.format == "JPEG" and image.size == (300, 400)
        assert not image.getexif() and "comment" not in image.info and "exif" not in image.info
    assert b"Khreshchatyk" not in kept


@pytest.mark.parametrize("data", [
    b"%PDF-1.7 a supplier's bill",
    b"",
    jpeg()[:200],  # cut off mid-way
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
], ids=["pdf", "empty", "truncated", "broken-png"])
def test_what_is_not_a_picture_is_not_kept(data):
    with pytest.raises(PhotoRefused) as refused:
        as_jpeg(data)
    assert refused.value.problem is PhotoProblem.NOT_IMAGE


def bomb(width: int, height: int) -> bytes:
    """A PNG of a few bytes whose header promises width x height pixels (the pixels themselves never come)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("width, height", [(10_000, MAX_PIXELS // 10_000 + 1), (40_000, 20_000)],
                         ids=["over-50-megapixels", "past-pillow-s-own-limit"])
def test_a_decompression_bomb_is_not_opened_and_the_resident_hears_it_is_too_large(width, height):
    with pytest.raises(PhotoRefused) as refused:
        as_jpeg(bomb(width, height))
    assert refused.value.problem is PhotoProblem.TOO_LARGE


def test_a_photo_from_a_108_megapixel_camera_is_decoded_at_a_quarter_and_kept():
    """Phones save such photos at 12000 x 9000; sent as a file they arrive whole (a few MB of a dark cupboard)."""
    kept = as_jpeg(jpeg((12_000, 9_000), quality=30))
    with Image.open(io.BytesIO(kept)) as image:
        assert image.size == (2560, 1920)


def test_a_huge_photo_is_kept_at_a_sensible_size():
    kept = as_jpeg(jpeg((6000, 4000)))
    with Image.open(io.BytesIO(kept)) as image:
        assert max(image.size) == 2560


async def hand_in(app, number: str, meter: int, at: datetime, evidence: str | None,
                  status: ReadingStatus = ReadingStatus.ACCEPTED, resident: int | None = None) -> None:
    async with app.uow_factory() as uow:
        account = await uow.accounts.find("heat", number)
        await uow.readings.submit(Submission(
            account.id, resident, Period(at.year, at.month), "telegram", f"KM-{at:%y%m}-{meter}{status.value[:2]}",
            at, status, (NewReading(account.meters[meter].id, Decimal("1600"), None, None, ReadingKind.TYPED,
                                    evidence=evidence),)))
        await uow.commit()


async def test_forget_me_keeps_the_photos_a_supplier_has_and_drops_the_rest(sql_app):
    await load_demo(sql_app)
    store = sql_app.photos.store
    handed_in, pending, draft, others = [await store.save(b"x") for _ in range(4)]
    async with sql_app.uow_factory() as uow:
        me = (await uow.residents.get_or_create(ChatRef("telegram", "1"))).id
        other = (await uow.residents.get_or_create(ChatRef("telegram", "2"))).id
        for name, whose in ((handed_in, me), (pending, me), (draft, me), (others, other)):
            await uow.photos.add(name, whose, NOW)
        await uow.commit()
    await hand_in(sql_app, "100000000000001", 0, NOW, handed_in, resident=me)
    await hand_in(sql_app, "100000000000001", 1, NOW, pending, ReadingStatus.PENDING, resident=me)
    async with sql_app.uow_factory() as uow:
        doomed = await uow.photos.forget(me)
        await uow.commit()
    assert sorted(doomed) == sorted([pending, draft])
    async with sql_app.uow_factory() as uow:
        assert await uow.photos.known([handed_in, pending, draft, others]) == {handed_in, others}
        rows = (await uow.session.execute(select(PhotoRow.name, PhotoRow.resident_id))).all()
        evidence = set((await uow.session.scalars(select(ReadingRow.evidence))).all())
    assert dict(rows) == {handed_in: None, others: other}  # kept, no longer the resident's
    assert evidence == {handed_in, None}  # the pending reading stays, without its photo


async def test_the_purge_removes_old_abandoned_and_unrecorded_photos_and_nothing_else(sql_app):
    await load_demo(sql_app)
    store = sql_app.photos.store
    old, recent, abandoned, drafting, unrecorded, arriving = [await store.save(b"x") for _ in range(6)]
    long_ago = NOW - RETENTION - timedelta(days=1)
    async with sql_app.uow_factory() as uow:
        await uow.photos.add(old, 1, long_ago)
        await uow.photos.add(recent, 1, NOW - timedelta(days=100))
        await uow.photos.add(abandoned, 1, NOW - timedelta(days=LOOSE_DAYS + 1))
        await uow.photos.add(drafting, 1, NOW - timedelta(days=3))
        await uow.commit()
    await hand_in(sql_app, "100000000000001", 0, long_ago, old)
    await hand_in(sql_app, "100000000000001", 1, NOW - timedelta(days=100), recent)
    stamp = (NOW - timedelta(days=2)).timestamp()
    os.utime(store.path_of(unrecorded), (stamp, stamp))  # a file whose record never came (or went)
    # ``arriving`` has no record either, but was written a moment ago: its step may not have committed yet

    dry = await purge_photos(sql_app.uow_factory, store, NOW, RETENTION, dry_run=True)
    assert (dry.recorded, dry.unrecorded) == (2, 1)
    assert len([n async for n, _ in store.names()]) == 6

    done = await purge_photos(sql_app.uow_factory, store, NOW, RETENTION)
    assert (done.recorded, done.unrecorded) == (2, 1)
    assert sorted([n async for n, _ in store.names()]) == sorted([recent, drafting, arriving])
    async with sql_app.uow_factory() as uow:
        assert await uow.photos.known([old, recent, abandoned, drafting]) == {recent, drafting}
        evidence = set((await uow.session.scalars(select(ReadingRow.evidence))).all())
    assert evidence == {recent, None}  # the old reading stays, without its photo
    again = await purge_photos(sql_app.uow_factory, store, NOW, RETENTION)
    assert (again.recorded, again.unrecorded, again.partial) == (0, 0, 0)
