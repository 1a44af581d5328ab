"""Renderers shared by every report: JSON, CSV and self-contained HTML."""

from __future__ import annotations

from collections.abc import Callable

from craton.reports.base import ReportData
from craton.reports.render.as_csv import render_csv
from craton.reports.render.as_html import render_html
from craton.reports.render.as_json import render_json

FORMATS: dict[str, tuple[Callable[[ReportData], str], str]] = {
    "json": (render_json, "application/json"),
    "csv": (render_csv, "text/csv; charset=utf-8"),
    "html": (render_html, "text/html; charset=utf-8"),
}


def render(data: ReportData, fmt: str) -> str:
    """Render a report in one of FORMATS."""
    try:
        renderer = FORMATS[fmt][0]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}") from None
    return renderer(data)


__all__ = ["FORMATS", "render", "render_csv", "render_html", "render_json"]
