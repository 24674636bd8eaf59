"""Rendering replies into one language: the value a channel sends, with no decisions left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.events import Chart, Reply, Text, t
from core.money import Money
from core.periods import Period
from bot.dialogs import texts_en, texts_uk

TEXTS = {"uk": texts_uk.TEXTS, "en": texts_en.TEXTS}
DEFAULT_LANGUAGE = "uk"


@dataclass(frozen=True)
class RenderedButton:
    label: str
    payload: str


@dataclass(frozen=True)
class RenderedPanel:
    axis: str
    lines: tuple[tuple[str, tuple[float | None, ...]], ...]  # (meter, values per period)


@dataclass(frozen=True)
class RenderedChart:
    """A chart in one language, ready to draw (plain data: it travels to the drawing process)."""

    title: str
    periods: tuple[str, ...]  # as the resident reads them: "11.2026"
    panels: tuple[RenderedPanel, ...]


@dataclass(frozen=True)
class RenderedQr:
    """A payment QR code to draw from ``link``, with its caption in one language."""

    link: str
    caption: str


@dataclass(frozen=True)
class Rendered:
    text: str
    buttons: tuple[tuple[RenderedButton, ...], ...] = ()
    chart: RenderedChart | None = None
    qr: RenderedQr | None = None  # the picture goes before the text, which ends with the link


def render(reply: Reply, language: str) -> Rendered:
    chart = reply.chart
    text = render_text(reply.text, language)
    qr = None
    if reply.qr is not None:
        qr = RenderedQr(reply.qr.link, render_text(reply.qr.caption, language))
        # the link as text, on every channel: a resident reading on the phone that would scan taps it instead
        text = f"{text}\n\n{render_text(t('payment_qr_link', link=reply.qr.link), language)}"
    return Rendered(
        text=text,
        buttons=tuple(
            tuple(RenderedButton(render_text(b.label, language), b.payload) for b in row) for row in reply.buttons
        ),
        chart=_chart(chart, language) if chart else None,
        qr=qr,
    )


def _chart(chart: Chart, language: str) -> RenderedChart:
    return RenderedChart(
        render_text(chart.title, language),
        tuple(format_value(Period.parse(p), language) for p in chart.periods),
        tuple(RenderedPanel(render_text(panel.axis, language),
                            tuple((render_text(line.label, language), line.values) for line in panel.lines))
              for panel in chart.panels),
    )


def render_text(text: Text, language: str) -> str:
    return _filled(text, language).strip()


def _filled(text: Text, language: str) -> str:
    """A template filled in; leading spaces stay, as a text inside another needs them (" (day)")."""
    texts = TEXTS.get(language, TEXTS[DEFAULT_LANGUAGE])
    template = texts[text.key]
    params = {name: format_value(value, language) for name, value in text.params.items()}
    if callable(template):
        return template(params).rstrip()
    return template.format(**params).rstrip()


def format_value(value: Any, language: str) -> str:
    if isinstance(value, Text):
        return _filled(value, language)
    if isinstance(value, list):
        return "\n".join(format_value(v, language) for v in value)
    if isinstance(value, dict):  # a name given per language, from the supplier config
        return str(value.get(language) or value.get(DEFAULT_LANGUAGE) or "")
    if value is None:
        return "—"
    if isinstance(value, Money):
        return format_money(value, language)
    if isinstance(value, Decimal):
        text = f"{value.normalize():f}"
        return text.replace(".", ",") if language == "uk" else text
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, Period):
        return f"{value.month:02d}.{value.year}"
    return str(value)


MONEY_SPACE = "\u00a0"  # no-break: an amount never breaks across two lines on a phone


def format_money(amount: Money | Decimal, language: str) -> str:
    """An amount in hryvnias with kopiyky: "1 234,56 грн" in Ukrainian, "UAH 1,234.56" in English.

    The spaces are no-break spaces (MONEY_SPACE); a negative amount starts with "-". A text shows money by
    taking a Money parameter (core.money), which renders through this function.
    """
    value = amount.rounded() if isinstance(amount, Money) else Money(amount).rounded()
    sign = "-" if value < 0 else ""
    grouped = f"{abs(value):,.2f}"  # "1,234.56"
    if language == "en":
        return f"{sign}UAH{MONEY_SPACE}{grouped}"
    return f"{sign}{grouped.replace(',', MONEY_SPACE).replace('.', ',')}{MONEY_SPACE}грн"


def render_all(replies: tuple[Reply, ...], language: str, limit: int) -> list[Rendered]:
    """Render replies, joining plain texts to the message after them while it fits ``limit``.

    One message instead of three for a greeting, a notice and a menu: fewer calls, and kinder to
    the platforms' per-chat rate limits.
    """
    merged: list[Rendered] = []
    for reply in replies:
        rendered = render(reply, language)
        previous = merged[-1] if merged else None
        if (previous is not None and not previous.buttons and previous.chart is None and previous.qr is None
                and len(previous.text) + 2 + len(rendered.text) <= limit):
            merged[-1] = Rendered(previous.text + "\n\n" + rendered.text, rendered.buttons, rendered.chart,
                                  rendered.qr)
        else:
            merged.append(rendered)
    return merged


def split_text(text: str, limit: int) -> list[str]:
    """A text in pieces a platform takes, cut at line ends where possible."""
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    parts.append(text)
    return parts
