"""Reports as JSON: the report's full content, numbers as numbers."""

from __future__ import annotations

import json

from craton.reports.base import ReportData


def render_json(data: ReportData) -> str:
    """Render the report as an indented JSON document."""
    return json.dumps(data.to_dict(), indent=2, sort_keys=False, default=str) + "\n"
