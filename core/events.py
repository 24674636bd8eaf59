"""The seam between the core and the channels: inbound events and outbound replies.

Channels turn platform updates into these events and render the replies; they decide nothing.
Replies carry text keys with parameters, never sentences: the texts live in one place per language.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from core.meter_photo import Seen
from core.money import Money
from core.periods import Period

MAX_PAYLOAD_BYTES = 64  # Telegram's callback_data limit; Viber allows more, we use the smaller


@dataclass(frozen=True)
class ChatRef:
    """A resident's chat on one channel; ``chat_id`` is the platform's id as text."""

    channel: str
    chat_id: str


@dataclass(frozen=True)
class Started:
    chat: ChatRef


@dataclass(frozen=True)
class Resumed:
    """The channel (re)connected, as the console does at launch: show where the resident is."""

    chat: ChatRef


@dataclass(frozen=True)
class TextReceived:
    chat: ChatRef
    text: str


@dataclass(frozen=True)
class ButtonPressed:
    """``origin`` is the platform's handle of the message the button was on ("" when it has none)."""

    chat: ChatRef
    payload: str
    origin: str = ""


@dataclass(frozen=True)
class CancelRequested:
    chat: ChatRef


class PhotoProblem(StrEnum):
    """Why a picture the resident sent cannot be kept."""

    TOO_LARGE = "too_large"  # over the size limit
    NOT_IMAGE = "not_image"  # not a picture the bot can read (a PDF, a video, a broken file)
    UNAVAILABLE = "unavailable"  # the platform did not give it in time (or gave a URL the bot must not fetch)


@dataclass(frozen=True)
class PhotoReceived:
    """A picture the resident sent; ``ref`` is the platform's handle for it (a file id or URL).

    The channel sets ``problem`` when the platform already says the picture cannot be kept (its size);
    the pipeline fetches the rest before the step runs (bot/photos/intake.py): then ``photo`` is the stored
    photo's name, or ``problem`` says why there is none, and ``seen`` is what recognition read on it (None:
    recognition is not installed, or did not finish in time).
    """

    chat: ChatRef
    ref: str
    problem: PhotoProblem | None = None
    photo: str | None = None
    seen: tuple[Seen, ...] | None = None

    @property
    def fetched(self) -> bool:
        return self.photo is not None or self.problem is not None


@dataclass(frozen=True)
class UnsupportedReceived:
    """Content the bot does not read (a sticker, a voice message, a location, ...)."""

    chat: ChatRef
    kind: str


Inbound = Started | Resumed | TextReceived | ButtonPressed | CancelRequested | PhotoReceived | UnsupportedReceived


@dataclass(frozen=True)
class Text:
    """A text by key; parameters may themselves be Texts, rendered in the same language."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.key, tuple(sorted(self.params))))


def t(key: str, **params: Any) -> Text:
    return Text(key, params)


@dataclass(frozen=True)
class Button:
    label: Text
    payload: str

    def __post_init__(self) -> None:
        if len(self.payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"button payload over {MAX_PAYLOAD_BYTES} bytes: {self.payload!r}")


@dataclass(frozen=True)
class ChartLine:
    """One meter's values over the chart's periods; None where there is nothing to show."""

    label: Text
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class ChartPanel:
    """Lines that count in one unit, drawn on one axis; ``axis`` names the quantity and the unit."""

    axis: Text
    lines: tuple[ChartLine, ...]


@dataclass(frozen=True)
class Chart:
    """A picture to draw: one panel per unit, stacked over the same periods ("2026-11").

    Two units never share an axis; a heat account's chart has a Gcal panel and an m³ panel.
    """

    title: Text
    periods: tuple[str, ...]
    panels: tuple[ChartPanel, ...]


@dataclass(frozen=True)
class PaymentQr:
    """An NBU payment QR code (core/nbu_qr.py): channels send it as a picture, with ``caption`` under it,
    and the link as text too, for a resident who reads the message on the phone that would scan it."""

    link: str
    caption: Text


@dataclass(frozen=True)
class Reply:
    text: Text
    buttons: tuple[tuple[Button, ...], ...] = ()  # rows of buttons
    chart: Chart | None = None
    qr: PaymentQr | None = None


@dataclass(frozen=True)
class Answer:
    """The replies to one event with what a channel may use to place them: the message whose button
    was pressed (``origin``) and a short ``notice`` for that button, which a channel able to show one
    (Telegram's answer to a callback query) may show instead of the replies."""

    replies: tuple[Reply, ...]
    origin: str = ""
    notice: Text | None = None


# Replies as JSON, so that they can wait in the outbox across a crash.

def encode_replies(replies: tuple[Reply, ...], *, origin: str = "", notice: Text | None = None) -> str:
    """A plain list when there is nothing but replies: the form rows had before origins and notices."""
    body: Any = [_encode(r) for r in replies]
    if origin or notice is not None:
        body = {"replies": body, "origin": origin, "notice": _encode(notice)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def decode_answer(text: str) -> Answer:
    body = json.loads(text)
    if isinstance(body, list):
        return Answer(tuple(_decode(r) for r in body))
    return Answer(tuple(_decode(r) for r in body["replies"]), str(body.get("origin") or ""),
                  _decode(body.get("notice")))


def decode_replies(text: str) -> tuple[Reply, ...]:
    return decode_answer(text).replies


def _encode(value: Any) -> Any:
    if isinstance(value, Reply):
        parts = [_encode(value.text), [[_encode(b) for b in row] for row in value.buttons], _encode(value.chart)]
        if value.qr is not None:  # only then: a row without it reads as before, and an older release can read it
            parts.append(_encode(value.qr))
        return {"$reply": parts}
    if isinstance(value, Text):
        return {"$text": value.key, "p": {k: _encode(v) for k, v in value.params.items()}}
    if isinstance(value, Button):
        return {"$button": _encode(value.label), "d": value.payload}
    if isinstance(value, PaymentQr):
        return {"$qr": value.link, "caption": _encode(value.caption)}
    if isinstance(value, Chart):
        return {"$chart": _encode(value.title), "periods": list(value.periods),
                "panels": [{"axis": _encode(p.axis), "lines": [[_encode(line.label), list(line.values)]
                                                                for line in p.lines]} for p in value.panels]}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, Money):
        return {"$money": str(value.amount)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Period):
        return {"$period": str(value)}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"$map": {k: _encode(v) for k, v in value.items()}}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$reply" in value:
        text, rows, chart, *rest = value["$reply"]
        return Reply(_decode(text), tuple(tuple(_decode(b) for b in row) for row in rows), _decode(chart),
                     _decode(rest[0]) if rest else None)
    if "$text" in value:
        return Text(value["$text"], {k: _decode(v) for k, v in value["p"].items()})
    if "$button" in value:
        return Button(_decode(value["$button"]), value["d"])
    if "$chart" in value:
        return _decode_chart(value)
    if "$qr" in value:
        return PaymentQr(str(value["$qr"]), _decode(value["caption"]))
    if "$decimal" in value:
        return Decimal(value["$decimal"])
    if "$money" in value:
        return Money(Decimal(value["$money"]))
    if "$datetime" in value:
        return datetime.fromisoformat(value["$datetime"])
    if "$date" in value:
        return date.fromisoformat(value["$date"])
    if "$period" in value:
        return Period.parse(value["$period"])
    if "$map" in value:
        return {k: _decode(v) for k, v in value["$map"].items()}
    raise ValueError(f"not an encoded reply part: {value!r}")


def _decode_chart(value: dict[str, Any]) -> Chart:
    if "panels" in value:
        panels = tuple(ChartPanel(_decode(p["axis"]), tuple(ChartLine(_decode(label), tuple(values))
                                                            for label, values in p["lines"]))
                       for p in value["panels"])
    else:  # written by a release that drew every unit on one axis: still sendable after an upgrade
        unit = _decode(value["unit"])
        panels = (ChartPanel(unit if isinstance(unit, Text) else Text("chart_label_raw", {"label": unit}),
                             tuple(ChartLine(Text("chart_label_raw", {"label": name}), tuple(points))
                                   for name, points in value["series"])),)
    return Chart(_decode(value["$chart"]), tuple(value["periods"]), panels)
