"""Drawing a history chart as PNG bytes, for channels that send pictures.

One picture with one panel per unit, the panels stacked over the same periods: a heat account's
heating (Gcal) and hot water (m³) are compared month by month at a glance, yet never share an axis,
and the resident gets one photo instead of two. Runs in the drawing process (bot/dialogs/drawing.py),
never on the event loop.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no screen on a server

from matplotlib.axes import Axes  # noqa: E402  (the backend must be chosen first)
from matplotlib.figure import Figure  # noqa: E402

from bot.dialogs.render import RenderedChart, RenderedPanel  # noqa: E402

PANEL_HEIGHT_IN = 2.8
LEGEND_ROW_IN = 0.3
WIDTH_IN = 7.5


def chart_png(chart: RenderedChart) -> bytes:
    legend_rows = sum(_legend_rows(panel) for panel in chart.panels)
    figure = Figure(figsize=(WIDTH_IN, PANEL_HEIGHT_IN * len(chart.panels) + LEGEND_ROW_IN * legend_rows + 0.6),
                    dpi=100, layout="constrained")
    figure.suptitle(chart.title)
    for axes, panel in zip(figure.subplots(len(chart.panels), 1, sharex=True, squeeze=False)[:, 0], chart.panels):
        _draw_panel(axes, panel, chart.periods)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def _draw_panel(axes: Axes, panel: RenderedPanel, periods: tuple[str, ...]) -> None:
    for label, values in panel.lines:
        points = [(i, v) for i, v in enumerate(values) if v is not None]
        axes.plot([i for i, _ in points], [v for _, v in points], marker="o", label=label)
    axes.set_ylabel(panel.axis)
    axes.grid(alpha=0.3)
    axes.set_xticks(range(len(periods)), labels=periods)
    axes.tick_params(axis="x", labelrotation=45, labelbottom=True)
    # below the plot, so that no point hides behind it
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=2, frameon=False)


def _legend_rows(panel: RenderedPanel) -> int:
    return (len(panel.lines) + 1) // 2
