"""What recognition read on a meter's photo, and the value it may suggest to the resident."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Seen:
    """One piece of text that recognition found on a photo."""

    text: str
    confidence: float  # 0..1, as the engine rates it
    box: tuple[float, float, float, float]  # left, top, right, bottom, in pixels of the photo
