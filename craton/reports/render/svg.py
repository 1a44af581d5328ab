"""A small, dependency-free SVG bar chart for the HTML reports."""

from __future__ import annotations

from html import escape

from craton.reports.base import Chart

WIDTH = 720
BAR_AREA = 560
ROW = 18


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _vertical(chart: Chart, peak: float) -> str:
    """Many bars (days): columns along the x axis, labels at the ends."""
    height, top, left = 200, 10, 50
    count = len(chart.values)
    step = (WIDTH - left - 10) / count
    parts = [f'<line x1="{left}" y1="{top + height}" x2="{WIDTH - 10}" y2="{top + height}" '
             'stroke="#888"/>',
             f'<text x="{left - 6}" y="{top + 10}" text-anchor="end">{_number(peak)}</text>',
             f'<text x="{left - 6}" y="{top + height}" text-anchor="end">0</text>']
    for i, (label, value) in enumerate(zip(chart.labels, chart.values, strict=True)):
        h = height * value / peak if peak else 0
        x = left + i * step
        parts.append(
            f'<rect class="bar" x="{x + step * 0.1:.1f}" y="{top + height - h:.1f}" '
            f'width="{max(step * 0.8, 1):.1f}" height="{h:.1f}">'
            f"<title>{escape(label)}: {_number(value)} {escape(chart.unit)}</title></rect>")
    parts.append(f'<text x="{left}" y="{top + height + 16}">{escape(chart.labels[0])}</text>')
    parts.append(f'<text x="{WIDTH - 10}" y="{top + height + 16}" text-anchor="end">'
                 f"{escape(chart.labels[-1])}</text>")
    return _svg(chart, top + height + 24, "".join(parts))


def _horizontal(chart: Chart, peak: float) -> str:
    """Few bars (actors, cells): one labelled row each."""
    label_width = WIDTH - BAR_AREA - 60
    parts = []
    for i, (label, value) in enumerate(zip(chart.labels, chart.values, strict=True)):
        y = 4 + i * ROW
        w = BAR_AREA * value / peak if peak else 0
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 12}" text-anchor="end">'
            f"{escape(label[:28])}</text>"
            f'<rect class="bar" x="{label_width}" y="{y + 2}" width="{w:.1f}" '
            f'height="{ROW - 5}"><title>{escape(label)}: {_number(value)} '
            f"{escape(chart.unit)}</title></rect>"
            f'<text x="{label_width + w + 4:.1f}" y="{y + 12}">{_number(value)}'
            f"{escape(chart.unit) if chart.unit == '%' else ''}</text>")
    return _svg(chart, 8 + len(chart.values) * ROW, "".join(parts))


def _svg(chart: Chart, height: int, body: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" '
            f'height="{height}" viewBox="0 0 {WIDTH} {height}" '
            f'aria-label="{escape(chart.title)}">{body}</svg>')


def bar_chart(chart: Chart) -> str:
    """Render a chart as inline SVG; an empty chart renders as an empty string."""
    if not chart.values:
        return ""
    peak = max(max(chart.values), 0.0)
    if chart.unit == "%":
        peak = max(peak, 100.0)
    return _vertical(chart, peak) if len(chart.values) > 24 else _horizontal(chart, peak)
