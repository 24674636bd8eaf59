"""What recognition read on a meter's photo, and the value it may suggest to the resident."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.domain import ServiceSpec
from core.reading_checks import Verdict, check_reading

MIN_CONFIDENCE = 0.85  # the engine's own rating of every piece of the drum it read
# other text that may be as tall as the drum: a digit-bearing text this close to the drum's height that reads
# differently leaves the photo unread
RIVAL_HEIGHT = 0.75
# pieces of one drum (the black and the red part, or a digit read apart) lie on one line, as tall as each other
SAME_HEIGHT = 0.6
SAME_LINE = 0.25  # their centres at most this share of their height apart, up or down
GAP = 1.2  # at most this many heights of space between two pieces of the drum
# the drum's digits stand out of the face's small print (serial number, type, year): at least this many times
# as tall as the other texts are, in the middle
ABOVE_SMALL_PRINT = 1.5
UNIT = re.compile(r"\s*[^\W\d_]\D*?3?$")  # a unit label read into the drum's text: kWh, m3 (m³), кВт·год
DRUM_TEXT = re.compile(r"[0-9 ]+(?:[.,][0-9 ]+)?")


@dataclass(frozen=True)
class Seen:
    """One piece of text that recognition found on a photo."""

    text: str
    confidence: float  # 0..1, as the engine rates it
    box: tuple[float, float, float, float]  # left, top, right, bottom, in pixels of the photo


@dataclass(frozen=True)
class _Piece:
    digits: str
    separator_at: int | None  # where a comma or dot stood, counted in digits before it
    seen: Seen

    @property
    def height(self) -> float:
        return self.seen.box[3] - self.seen.box[1]

    @property
    def middle(self) -> float:
        return (self.seen.box[1] + self.seen.box[3]) / 2


@dataclass(frozen=True)
class _Candidate:
    value: Decimal
    pieces: tuple[_Piece, ...]

    @property
    def height(self) -> float:
        return sum(p.height for p in self.pieces) / len(self.pieces)


def _piece(seen: Seen) -> _Piece | None:
    """The digits of a text that could be (part of) a drum; None for any other label."""
    text = UNIT.sub("", unicodedata.normalize("NFKC", seen.text).strip())  # full-width digits, m³ as m3
    if not DRUM_TEXT.fullmatch(text) or not text.strip():
        return None
    before, separator, _ = text.replace(".", ",").partition(",")
    return _Piece(text.translate({ord(c): None for c in " .,"}),
                  len(before.replace(" ", "")) if separator else None, seen)


def _follows(first: _Piece, then: _Piece) -> bool:
    """``then`` is the next piece of the drum to the right of ``first``."""
    height = max(first.height, then.height)
    return (min(first.height, then.height) >= SAME_HEIGHT * height
            and abs(first.middle - then.middle) <= SAME_LINE * height
            and then.seen.box[0] + then.seen.box[2] >= 2 * first.seen.box[2]  # its middle right of the first's end
            and then.seen.box[0] - first.seen.box[2] <= GAP * height)


def _candidates(pieces: list[_Piece], digits: int, decimals: int) -> list[_Candidate]:
    """Every reading of the drum that one piece, or a row of pieces side by side, spells out."""
    found = []
    for start in pieces:
        row = [start]
        while (length := sum(len(p.digits) for p in row)) < digits + decimals:
            following = [p for p in pieces if _follows(row[-1], p)]
            if not following:
                break
            row.append(min(following, key=lambda p: p.seen.box[0]))
        separators, offset = set(), 0
        for p in row:
            if p.separator_at is not None:
                separators.add(offset + p.separator_at)
            offset += len(p.digits)
        if length == digits + decimals and separators <= {digits}:
            found.append(_Candidate(Decimal("".join(p.digits for p in row)).scaleb(-decimals), tuple(row)))
    return found


def value_from(seen: Sequence[Seen], digits: int, decimals: int) -> Decimal | None:
    """The meter's value, if what was read fits a drum of ``digits`` whole and ``decimals`` decimal digits
    (leading zeros shown) beyond doubt; None when unsure.

    The drum is the tallest digit-bearing text on the face, well above its small print: a serial number or a
    label never counts. Another reading of about the drum's height, a piece read with little confidence, or a
    digit out of line with the rest (a drum caught while turning) leaves the photo unread.
    """
    pieces = [p for p in map(_piece, seen) if p is not None]
    candidates = _candidates(pieces, digits, decimals)
    if not candidates:
        return None
    tallest = max(candidates, key=lambda c: c.height)
    rivals = {c.value for c in candidates if c.height >= RIVAL_HEIGHT * tallest.height}
    drum = {p.seen for p in tallest.pieces}
    others = sorted(s.box[3] - s.box[1] for s in seen if s not in drum)
    taller_text = any(sum(ch.isascii() and ch.isdigit() for ch in s.text) >= 3
                      and s.box[3] - s.box[1] > tallest.height / RIVAL_HEIGHT for s in seen)
    if (len(rivals) > 1 or taller_text or min(p.seen.confidence for p in tallest.pieces) < MIN_CONFIDENCE
            or (others and tallest.height < ABOVE_SMALL_PRINT * others[len(others) // 2])):
        return None
    return tallest.value


def suggestion(seen: Sequence[Seen], service: ServiceSpec, previous: Decimal | None,
               recent: list[Decimal]) -> Decimal | None:
    """The value to offer the resident for confirmation: read beyond doubt and plausible after ``previous``
    (not below it, nor beyond the service's monthly maximum or three times the usual of ``recent``)."""
    value = value_from(seen, service.digits, service.decimals)
    if value is None or check_reading(value, previous, service, recent).verdict is not Verdict.OK:
        return None
    return value
