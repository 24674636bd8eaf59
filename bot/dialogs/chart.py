"""Drawing a history chart as PNG bytes, for channels that send pictures."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no screen on a server

from matplotlib.figure import Figure  # noqa: E402  (the backend must be chosen first)

from bot.dialogs.render import RenderedChart  # noqa: E402


def chart_png(chart: RenderedChart) -> bytes:
    figure = Figure(figsize=(7, 3.5), dpi=100)
    axes = figure.subplots()
    for label, values in chart.series:
        points = [(p, v) for p, v in zip(chart.periods, values) if v is not None]
        axes.plot([p for p, _ in points], [v for _, v in points], marker="o", label=label)
    axes.set_title(chart.title)
    axes.set_ylabel(chart.unit)
    axes.grid(alpha=0.3)
    axes.tick_params(axis="x", labelrotation=45)
    if len(chart.series) > 1:
        axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
