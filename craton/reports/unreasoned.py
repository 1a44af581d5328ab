"""Report ``unreasoned-changes``: changes with no reason, and changes outside change windows."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection

from craton.compliance.change_windows import describe, inside, parse_windows
from craton.projections.timeline import utc
from craton.reports.base import BaseReport, Cell, ReportData, Table, Window
from craton.reports.figures import counted_table, daily_chart, project_label, when
from craton.reports.queries import project_names, project_of, stream_events

COLUMNS = ["position", "time", "actor", "source", "event_type", "resource_type",
           "resource_id", "project", "request_id", "reason"]


def has_reason(event: Any) -> bool:
    """A change is explained by a reason, or by the workflow run that made it."""
    return bool((event.reason or "").strip() or event.run_id)


def _row(event: Any, projects: dict[str, str]) -> list[Cell]:
    return [event.position, when(event.time), event.actor_name, event.source,
            event.event_type, event.kind, event.resource_id,
            project_label(projects, project_of(event), None), event.request_id, event.reason]


class UnreasonedChanges(BaseReport):
    """Changes nobody explained, and changes made outside the configured change windows."""

    name = "unreasoned-changes"
    title = "Unreasoned and out-of-window changes"
    description = ("Changes with no reason (nor workflow run), and changes outside the "
                   "change windows of CRATON_CHANGE_WINDOWS.")

    def compute(self, conn: Connection, window: Window, project_id: str | None, *,
                hidden_kinds: tuple[str, ...] = ()) -> ReportData:
        windows = parse_windows(self.settings.change_windows)
        projects = project_names(conn)
        unreasoned, outside, changes = [], [], 0
        for e in stream_events(conn, window, project_id, hidden_kinds):
            changes += 1  # (only the changes the report lists are kept)
            if not has_reason(e):
                unreasoned.append(e)
            if not inside(windows, utc(e.time)):
                outside.append(e)
        data = self.new(window, project_id)
        data.summary = {
            "changes": changes,
            "unreasoned": len(unreasoned),
            "unreasoned_share": round(len(unreasoned) / changes, 4) if changes else 0.0,
            "outside_windows": len(outside),
            "outside_and_unreasoned": sum(1 for e in outside if not has_reason(e)),
            "change_windows": describe(windows),
        }
        by_actor: Counter[str] = Counter(e.actor_name for e in unreasoned)
        data.tables = [
            Table("unreasoned", "Changes with no reason", COLUMNS,
                  [_row(e, projects) for e in unreasoned]),
            Table("outside_windows", "Changes outside the change windows", COLUMNS,
                  [_row(e, projects) for e in outside]),
            counted_table("unreasoned_by_actor", "Changes with no reason, by actor",
                          ("actor", "changes"), by_actor),
        ]
        data.charts = [
            daily_chart("Changes with no reason per day", unreasoned, window, "changes"),
        ]
        if not windows:
            data.notes.append("No change windows are configured (CRATON_CHANGE_WINDOWS): "
                              "no change counts as outside one.")
        return data
