"""Photos of utility meters drawn from a seed: for the recognizer's tests and bench/meter_ocr.py.

A face is the meter's body with its odometer drum (black cells with white digits for whole units, red cells
for decimals, or red digits on white cells), a unit label, a serial number and a few other labels in small
print. Conditions make it harder: glare, blur, a tilted camera, low light and a drum caught while turning
(one cell shows the bottom half of a digit over the top half of the next; the reading is the lower digit).
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TypedDict

import matplotlib
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"  # matplotlib ships DejaVu, so it is always there
BOLD = str(FONTS / "DejaVuSans-Bold.ttf")
REGULAR = str(FONTS / "DejaVuSans.ttf")
WIDTH, HEIGHT = 1024, 768  # about what a messenger passes on of a phone's photo

# digits, decimals, unit and the small print of each kind of meter
KINDS = (
    (5, 3, "m³", ("DN15", "Q3 2,5 m³/h", "R160", "2021")),
    (6, 1, "kWh", ("220V 5-60A", "1000 imp/kWh", "cl. 1", "50Hz")),
)
BODIES = ((236, 236, 232), (206, 218, 232), (214, 214, 206), (48, 52, 60))
RED = (196, 30, 36)


class Conditions(TypedDict, total=False):
    glare: bool
    blur: float  # Gaussian radius in pixels
    rotation: float  # degrees, counter-clockwise
    low_light: bool
    rolled: bool
    red_on_white: bool  # red digits on white cells for the decimals, rather than white on red


def render_meter(value: Decimal, digits: int, decimals: int, rng: random.Random, *, glare: bool = False,
                 blur: float = 0.0, rotation: float = 0.0, low_light: bool = False, rolled: bool = False,
                 red_on_white: bool = False) -> bytes:
    """A JPEG photo of a meter whose drum shows ``value`` with leading zeros."""
    unit, small_print = next((u, p) for d, f, u, p in KINDS if (d, f) == (digits, decimals))
    shown = f"{int(value * 10**decimals):0{digits + decimals}d}"
    body = rng.choice(BODIES)
    ink = (20, 20, 20) if sum(body) > 300 else (230, 230, 230)
    image = Image.new("RGB", (WIDTH, HEIGHT), tuple(max(0, c - 60) for c in body))
    draw = ImageDraw.Draw(image)
    face = (rng.randint(40, 120), rng.randint(40, 110), WIDTH - rng.randint(40, 120), HEIGHT - rng.randint(40, 110))
    draw.rounded_rectangle(face, radius=40, fill=body, outline=(90, 90, 90), width=4)

    cells = digits + decimals
    cell_w = rng.randint(52, (face[2] - face[0] - 80) // cells)
    cell_h = int(cell_w * rng.uniform(1.35, 1.6))
    gap = rng.randint(3, 8)
    left = (face[0] + face[2] - cells * (cell_w + gap)) // 2
    top = rng.randint(face[1] + 90, face[1] + 150)
    draw.rectangle((left - 12, top - 12, left + cells * (cell_w + gap) + 6, top + cell_h + 12), fill=(30, 30, 30))
    font = ImageFont.truetype(BOLD, int(cell_h * 0.7))
    for i, digit in enumerate(shown):
        whole = i < digits
        background = (15, 15, 15) if whole else ((245, 245, 240) if red_on_white else RED)
        colour = (240, 240, 240) if whole or not red_on_white else RED
        cell = Image.new("RGB", (cell_w, cell_h), background)
        cell_draw = ImageDraw.Draw(cell)
        if rolled and i == cells - 1:
            turned = rng.uniform(0.35, 0.65)  # share of the cell the next digit has come up into
            for offset, d in ((-turned, int(digit)), (1 - turned, (int(digit) + 1) % 10)):
                cell_draw.text((cell_w / 2, cell_h * (0.5 + offset)), str(d), font=font, fill=colour, anchor="mm")
        else:
            cell_draw.text((cell_w / 2, cell_h / 2), digit, font=font, fill=colour, anchor="mm")
        image.paste(cell, (left + i * (cell_w + gap), top))
    if decimals and rng.random() < 0.5:  # some dials print a comma between the black and the red cells
        x = left + digits * (cell_w + gap) - gap // 2
        draw.ellipse((x - 4, top + cell_h + 14, x + 4, top + cell_h + 22), fill=ink)

    small_size = rng.randint(20, 28)
    small = ImageFont.truetype(REGULAR, small_size)
    right = left + cells * (cell_w + gap)
    draw.text((right + 14, top + cell_h // 2), unit, font=ImageFont.truetype(BOLD, cell_h // 3), fill=ink, anchor="lm")
    serial = "".join(str(rng.randint(0, 9)) for _ in range(rng.choice((7, digits + decimals))))
    y = top + cell_h + 60
    draw.text((left, y), f"№ {serial}", font=small, fill=ink)
    for label in rng.sample(small_print, 2):
        y += small_size + rng.randint(12, 30)
        draw.text((left + rng.randint(0, 200), y), label, font=small, fill=ink)

    if glare:
        x, y = rng.randint(left, right), rng.randint(top - 60, top + cell_h + 60)
        rx, ry = rng.randint(60, 160), rng.randint(30, 80)
        light = Image.new("L", image.size, 0)
        ImageDraw.Draw(light).ellipse((x - rx, y - ry, x + rx, y + ry), fill=rng.randint(190, 255))
        image.paste((255, 255, 250), mask=light.filter(ImageFilter.GaussianBlur(rx / rng.uniform(3, 6))))
    if rotation:
        image = image.rotate(rotation, resample=Image.Resampling.BICUBIC, fillcolor=(60, 60, 60))
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    if low_light:
        image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.2, 0.4))
        noise = Image.frombytes("L", image.size, rng.randbytes(WIDTH * HEIGHT)).convert("RGB")
        image = Image.blend(image, noise, rng.uniform(0.06, 0.15))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=rng.randint(70, 90))
    return out.getvalue()


def faces(seed: int, count: int) -> Iterator[tuple[Decimal, int, int, Conditions, bytes]]:
    """``count`` varied meters: (value shown, digits, decimals, conditions, JPEG); the same for the same seed."""
    for n in range(count):
        rng = random.Random(seed * 1_000_003 + n)  # one face does not depend on the ones before it
        digits, decimals, _, _ = KINDS[rng.random() < 0.35]
        # real dials show mostly leading zeros: a few hundred m³ or tens of thousands of kWh
        whole = rng.randint(0, 10 ** rng.randint(2, digits - 1) - 1)
        value = Decimal(whole) + Decimal(rng.randint(0, 10**decimals - 1)).scaleb(-decimals)
        conditions = Conditions()
        if rng.random() < 0.25:
            conditions["glare"] = True
        if rng.random() < 0.25:
            conditions["blur"] = round(rng.uniform(1.0, 3.0), 1)
        if rng.random() < 0.3:
            conditions["rotation"] = round(rng.uniform(-15, 15), 1)
        if rng.random() < 0.2:
            conditions["low_light"] = True
        if rng.random() < 0.15:
            conditions["rolled"] = True
        if rng.random() < 0.3:
            conditions["red_on_white"] = True
        yield value, digits, decimals, conditions, render_meter(value, digits, decimals, rng, **conditions)
