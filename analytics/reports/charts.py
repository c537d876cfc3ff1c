"""A report's charts drawn on the server as SVG (matplotlib), for the PDF:
WeasyPrint runs no JavaScript, so the page's ECharts cannot reach a PDF. Text is
turned into outlines (svg.fonttype "path"), so the SVG needs no font of its own;
the glyphs come from Noto Sans CJK (fonts-noto-cjk, installed by make and CI).
"""

from __future__ import annotations

import io

from matplotlib import rc_context
from matplotlib.figure import Figure

from analytics.reports.content import Chart

STYLE = {
    "font.family": ["Noto Sans CJK JP", "DejaVu Sans"],
    "svg.fonttype": "path",
    "axes.unicode_minus": False,
    "font.size": 9,
}
COLOURS = ("#4F46E5", "#F59E0B", "#10B981", "#EF4444")
MAX_LABELS = 16


def chart_svg(chart: Chart) -> str:
    with rc_context(STYLE):
        figure = Figure(figsize=(7.0, 2.8), dpi=100)
        axes = figure.add_subplot()
        positions = list(range(len(chart.labels)))
        series = list(chart.series.items())
        if chart.kind == "line":
            for index, (name, values) in enumerate(series[:1]):
                axes.plot(
                    positions,
                    [float(v or 0) for v in values],
                    marker="o",
                    markersize=3,
                    color=COLOURS[index],
                    label=name,
                )
            if len(series) > 1:  # the second measure on its own axis
                name, values = series[1]
                twin = axes.twinx()
                twin.bar(
                    positions,
                    [float(v or 0) for v in values],
                    alpha=0.25,
                    color=COLOURS[1],
                    label=name,
                )
                twin.set_ylabel(name)
            axes.set_ylabel(series[0][0] if series else "")
        else:
            width = 0.8 / max(1, len(series))
            for index, (name, values) in enumerate(series):
                axes.bar(
                    [p + index * width for p in positions],
                    [float(v or 0) for v in values],
                    width=width,
                    color=COLOURS[index % len(COLOURS)],
                    label=name,
                )
        step = max(1, len(positions) // MAX_LABELS + (len(positions) % MAX_LABELS > 0))
        axes.set_xticks(positions[::step])
        axes.set_xticklabels(chart.labels[::step], rotation=30, ha="right")
        axes.set_title(chart.title)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg")
    return buffer.getvalue()
