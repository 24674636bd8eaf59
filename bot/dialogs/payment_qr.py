"""The NBU payment QR code as a PNG picture (see core/nbu_qr.py for the link it carries).

What NBU Resolution No. 97 asks of the picture of a format 002/003 code, and how it is met here:

- QR version 10 to 20: the smallest version the link fits, raised to 10 for a short link;
- error correction Q, M or L by the amount of data: Q where the link fits version 20 at Q, otherwise
  M (a link that fits neither is refused by core.nbu_qr already). L is never used: the logo costs
  codewords, and at 7% too few are left;
- the hryvnia sign "₴" in a white circle in the centre (mandatory for 002 and 003): the circle is 22%
  of the symbol's width, about 4% of its area — well inside what M (15%) and Q (25%) restore; drawn
  with DejaVu Sans Bold, which matplotlib bundles (a dependency already) and which has U+20B4;
- a quiet zone of 4 modules on each side (ISO/IEC 18004);
- about 900 pixels wide, at least 6 pixels a module: read from a phone screen, and still read after a
  messenger recompresses it to a third of the size as JPEG (tests/test_nbu_qr.py checks both).

Drawing takes tens of milliseconds (segno is pure Python), so channels call :func:`qr_drawn` (:func:`qr_png_async`),
which draws on a worker thread rather than on the event loop; no process pool is needed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import logging
from functools import cache
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

MIN_VERSION = 10
MAX_VERSION = 20
LEVELS = ("Q", "M")  # the first that fits version 20
QUIET_ZONE = 4  # modules
TARGET_PX = 900
MIN_SCALE = 6  # pixels a module
LOGO_SHARE = 0.22  # the circle's diameter, a share of the symbol's width (quiet zone not counted)
HRYVNIA = "₴"

log = logging.getLogger(__name__)


def qr_code(link: str) -> segno.QRCode:
    """The QR symbol for a link, within the versions and levels above."""
    for level in LEVELS:
        qr = segno.make_qr(link, error=level, boost_error=False)
        if int(qr.version) < MIN_VERSION:
            qr = segno.make_qr(link, error=level, version=MIN_VERSION, boost_error=False)
        if int(qr.version) <= MAX_VERSION:
            return qr
    raise ValueError(f"the link does not fit a QR code of version {MAX_VERSION} at level M")


def qr_png(link: str) -> bytes:
    """The payment QR code for ``link`` with the hryvnia sign in its centre, as PNG bytes."""
    qr = qr_code(link)
    modules = qr.symbol_size(scale=1, border=0)[0]
    scale = max(MIN_SCALE, -(-TARGET_PX // (modules + 2 * QUIET_ZONE)))
    plain = io.BytesIO()
    qr.save(plain, kind="png", scale=scale, border=QUIET_ZONE)
    image = Image.open(io.BytesIO(plain.getvalue())).convert("L")
    _draw_logo(image, modules * scale * LOGO_SHARE / 2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def qr_png_async(link: str) -> bytes:
    """:func:`qr_png` on a worker thread, so that the event loop goes on meanwhile."""
    return await asyncio.to_thread(qr_png, link)


async def qr_drawn(link: str) -> bytes | None:
    """:func:`qr_png_async`, or None (the error's class logged) when it could not be drawn: the text with the
    link still goes out, and the link pays as well as the picture."""
    try:
        return await qr_png_async(link)
    except Exception as exc:  # a link no QR code holds, a missing font
        log.error("payment QR code not drawn (%s)", exc.__class__.__name__)
        return None


def _draw_logo(image: Image.Image, radius: float) -> None:
    centre = image.size[0] / 2
    draw = ImageDraw.Draw(image)
    draw.ellipse((centre - radius, centre - radius, centre + radius, centre + radius), fill=255)
    draw.text((centre, centre), HRYVNIA, fill=0, font=_font(int(radius * 1.4)), anchor="mm")


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_font_file()), size)


def _font_file() -> Path:
    """matplotlib's copy of DejaVu Sans Bold, found without importing matplotlib (slow, and not needed)."""
    spec = importlib.util.find_spec("matplotlib")
    assert spec is not None and spec.submodule_search_locations, "matplotlib is a dependency"
    return Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
