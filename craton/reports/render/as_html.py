"""Reports as one self-contained HTML page: inline style, inline SVG charts, no scripts."""

from __future__ import annotations

from html import escape

from craton.reports.base import Cell, ReportData, Table
from craton.reports.render.svg import bar_chart

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.5em;margin-bottom:0}.meta{color:#666;margin-top:.2em}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:2px 8px;text-align:left}
td.n{text-align:right}th{background:#f3f3f3}
svg text{font:11px sans-serif;fill:#333}svg .bar{fill:#3a6ea5}
figure{margin:0 0 1.5em}figcaption{font-weight:bold;margin-bottom:.3em}
.note{color:#555;font-style:italic}
"""


def _cell(value: Cell) -> str:
    if value is None:
        return "<td></td>"
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int | float):
        return f'<td class="n">{value:,}</td>' if isinstance(value, int) \
            else f'<td class="n">{value:,.2f}</td>'
    return f"<td>{escape(str(value))}</td>"


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in table.rows)
    if not table.rows:
        body = f'<tr><td colspan="{len(table.columns)}" class="note">none</td></tr>'
    return (f'<h2>{escape(table.title)}</h2><table id="{escape(table.name)}">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def render_html(data: ReportData) -> str:
    """Render the report as a standalone HTML document."""
    w = data.window
    scope = f"project {data.project_id}" if data.project_id else "the whole fleet"
    summary = "".join(f"<tr><th>{escape(k)}</th>{_cell(v)}</tr>" for k, v in data.summary.items())
    charts = "".join(
        f"<figure><figcaption>{escape(c.title)}</figcaption>{bar_chart(c)}</figure>"
        for c in data.charts if c.values)
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in data.notes)
    tables = "".join(_table(t) for t in data.tables)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(data.title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(data.title)}</h1>"
        f'<p class="meta">{escape(data.description)}<br>Window: {escape(w.label_from)} to '
        f"{escape(w.label_to)} (events after position {w.after} up to {w.until}); "
        f"{escape(scope)}.</p>"
        f'<h2>Summary</h2><table id="summary">{summary}</table>{charts}{notes}{tables}'
        "</body></html>\n"
    )
