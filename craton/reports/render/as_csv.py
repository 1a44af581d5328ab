"""Reports as CSV: a summary section, then one section per table.

Each section starts with a line ``# <table name>`` and its header row; sections
are separated by an empty line. ``split_sections`` reads such a file back.
"""

from __future__ import annotations

import csv
import io

from craton.reports.base import Cell, ReportData


def _cell(value: Cell) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def render_csv(data: ReportData) -> str:
    """Render the summary and every table as CSV sections."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["# summary"])
    writer.writerow(["figure", "value"])
    for key, value in data.summary.items():
        writer.writerow([key, _cell(value)])
    for table in data.tables:
        writer.writerow([])
        writer.writerow([f"# {table.name}"])
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def split_sections(text: str) -> dict[str, list[dict[str, str]]]:
    """Parse CSV written by render_csv into {section: [row as dict]}."""
    sections: dict[str, list[dict[str, str]]] = {}
    name: str | None = None
    header: list[str] | None = None
    for row in csv.reader(io.StringIO(text)):
        if not row:
            name, header = None, None
        elif name is None and len(row) == 1 and row[0].startswith("# "):
            name = row[0][2:]
            sections[name] = []
        elif name is not None and header is None:
            header = row
        elif name is not None and header is not None:
            sections[name].append(dict(zip(header, row, strict=False)))
    return sections
