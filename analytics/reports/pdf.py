"""A report as a PDF (WeasyPrint): A4, Noto Sans CJK embedded, the charts as
server-drawn SVG (analytics.reports.charts), page numbers in the footer, and the
summary paragraph first."""

from __future__ import annotations

import base64
from pathlib import Path

from django.template.loader import render_to_string
from weasyprint import HTML

from analytics.reports.charts import chart_svg
from analytics.reports.content import ReportContent


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def report_html(content: ReportContent, *, generated_at) -> str:
    return render_to_string(
        "analytics/report_pdf.html",
        {
            "content": content,
            "charts": [
                {"title": chart.title, "src": svg_data_uri(chart_svg(chart))}
                for chart in content.charts
            ],
            "generated_at": generated_at,
        },
    )


def write_pdf(content: ReportContent, path: Path, *, generated_at) -> Path:
    HTML(string=report_html(content, generated_at=generated_at)).write_pdf(path)
    return path
