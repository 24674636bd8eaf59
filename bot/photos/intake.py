"""A resident's photo, before the step that gets it runs: fetched, checked, kept, and read.

The channel fetches the bytes (bot/telegram, bot/viber, bot/console); here they must be a picture
(Pillow decides, not the name or the type the sender claimed), which is kept as a JPEG turned upright
and stripped of its metadata — a phone's photo carries where it was taken, the resident's home. Then
recognition, when installed, reads it (bot/photos/recognizer.py), in its own processes.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import replace
from typing import Protocol

from PIL import Image, ImageOps

from core.events import PhotoProblem, PhotoReceived
from core.ports import PhotoStore
from bot.delivery.adapter import PhotoRefused
from bot.photos.recognizer import Recognizer

log = logging.getLogger(__name__)

FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF"}  # MPO: the JPEG some phone cameras write
MAX_PIXELS = 50_000_000  # a 50-megapixel photo; past it, a picture is a decompression bomb, not a meter
LONGEST_SIDE = 2560  # kept at most this large: a meter's digits stay sharp, a year of photos stays small
QUALITY = 88
FETCHES = 16  # photos fetched at once, by all residents: at most this many times the size limit in memory


class PhotoFetcher(Protocol):
    async def fetch_photo(self, ref: str, max_bytes: int, timeout_s: float) -> bytes: ...


def as_jpeg(data: bytes) -> bytes | None:
    """The picture as a JPEG, upright, without metadata; None for anything that is not a picture we read.

    Opening reads only the header: a picture over MAX_PIXELS is refused before a pixel is decoded (Pillow
    itself refuses one over twice its own limit while opening)."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.format not in FORMATS or opened.width * opened.height > MAX_PIXELS:
                return None
            image = ImageOps.exif_transpose(opened).convert("RGB")
        image.info.clear()  # a JPEG comment, an ICC profile, XMP: nothing of the sender's file goes on
        image.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=QUALITY)
        return out.getvalue()
    except Exception:  # hostile bytes reach deep into decoders: whatever they raise, it is not a picture
        return None


class PhotoIntake:
    def __init__(self, store: PhotoStore, recognizer: Recognizer | None, max_bytes: int, timeout_s: float) -> None:
        self.store = store
        self.recognizer = recognizer
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self._fetches = asyncio.Semaphore(FETCHES)

    async def prepare(self, fetcher: PhotoFetcher, event: PhotoReceived) -> PhotoReceived:
        """The event with the kept photo's name and what recognition read, or the problem; never raises."""
        if event.fetched:
            return event
        try:
            async with self._fetches:
                data = await fetcher.fetch_photo(event.ref, self.max_bytes, self.timeout_s)
            if len(data) > self.max_bytes:
                raise PhotoRefused(PhotoProblem.TOO_LARGE)
            jpeg = await asyncio.to_thread(as_jpeg, data)
            if jpeg is None:
                raise PhotoRefused(PhotoProblem.NOT_IMAGE)
            name = await self.store.save(jpeg)
        except PhotoRefused as refused:
            log.info("%s: a photo was not kept (%s)", event.chat.channel, refused.problem.value)
            return replace(event, problem=refused.problem)
        except Exception as exc:  # the store's disk, a channel's bug: the resident is asked to send it again
            log.error("%s: fetching or keeping a photo failed (%s)", event.chat.channel, exc.__class__.__name__)
            return replace(event, problem=PhotoProblem.UNAVAILABLE)
        seen = None
        if self.recognizer is not None:
            try:
                seen = await self.recognizer.read(jpeg)
            except Exception as exc:
                log.error("%s: recognition failed (%s)", event.chat.channel, exc.__class__.__name__)
        return replace(event, photo=name, seen=seen)

    async def close(self) -> None:
        if self.recognizer is not None:
            await self.recognizer.close()
