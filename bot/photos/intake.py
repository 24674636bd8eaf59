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
import math
from dataclasses import replace
from typing import Protocol

from PIL import Image, ImageOps

from core.events import PhotoProblem, PhotoReceived
from core.ports import PhotoStore
from bot.delivery.adapter import PhotoRefused
from bot.photos.recognizer import Recognizer

log = logging.getLogger(__name__)

FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF"}  # MPO: the JPEG some phone cameras write
MAX_PIXELS = 50_000_000  # decoded, at most a 50-megapixel picture: past it, a decompression bomb, not a meter
# Pillow's limit as a file is opened: it warns past this and refuses past twice this. A 200-megapixel phone
# photo opens without a warning, to be decoded at a quarter of its size. (This process's other pictures are its
# own charts and QR codes.)
Image.MAX_IMAGE_PIXELS = 256_000_000
LONGEST_SIDE = 2560  # kept at most this large: a meter's digits stay sharp, a year of photos stays small
QUALITY = 88
FETCHES = 16  # photos fetched at once, by all residents: at most this many times the size limit in memory


class PhotoFetcher(Protocol):
    async def fetch_photo(self, ref: str, max_bytes: int, timeout_s: float) -> bytes: ...


def as_jpeg(data: bytes) -> bytes:
    """The picture as a JPEG, upright, without metadata; PhotoRefused for anything else.

    Opening reads only the header. A JPEG is then decoded at the smallest of 1/1, 1/2, 1/4 or 1/8 of its
    size that is still as large as what is kept (a 108-megapixel phone photo costs a decode of 7 megapixels),
    and any picture still over MAX_PIXELS is refused as too large before a pixel is decoded (Pillow itself
    refuses one over twice Image.MAX_IMAGE_PIXELS while opening)."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.format not in FORMATS:
                raise PhotoRefused(PhotoProblem.NOT_IMAGE)
            if opened.format in ("JPEG", "MPO"):  # decoded at a scale still as large as what is kept
                shrink = LONGEST_SIDE / max(opened.size)
                if shrink < 1:
                    opened.draft("RGB", (math.ceil(opened.width * shrink), math.ceil(opened.height * shrink)))
            if opened.width * opened.height > MAX_PIXELS:
                raise PhotoRefused(PhotoProblem.TOO_LARGE)
            image = ImageOps.exif_transpose(opened).convert("RGB")
        image.info.clear()  # a JPEG comment, an ICC profile, XMP: nothing of the sender's file goes on
        image.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=QUALITY)
        return out.getvalue()
    except PhotoRefused:
        raise
    except Image.DecompressionBombError:
        raise PhotoRefused(PhotoProblem.TOO_LARGE) from None
    except Exception:  # hostile bytes reach deep into decoders: whatever they raise, it is not a picture
        raise PhotoRefused(PhotoProblem.NOT_IMAGE) from None


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
