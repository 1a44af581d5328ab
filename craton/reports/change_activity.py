"""Report ``change-activity``: who changed what, where, from where, and when."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection

from craton.reports.base import BaseReport, ReportData, Table, Window
from craton.reports.figures import (
    counted_table,
    day,
    per_day_chart,
    project_label,
    top_chart,
)
from craton.reports.queries import project_names, project_of, stream_events


class ChangeActivity(BaseReport):
    """Changes counted by actor, project, resource type, source and day."""

    name = "change-activity"
    title = "Change activity"
    description = "Changes by actor, project, resource type, source and day."

    def compute(self, conn: Connection, window: Window, project_id: str | None, *,
                hidden_kinds: tuple[str, ...] = ()) -> ReportData:
        names = project_names(conn)
        by_actor: Counter[str] = Counter()
        by_project: Counter[str | None] = Counter()
        by_type: Counter[str] = Counter()
        by_source: Counter[str] = Counter()
        by_event: Counter[str] = Counter()
        by_day: Counter[Any] = Counter()
        changed: set[str] = set()
        changes, first, last = 0, None, None
        for e in stream_events(conn, window, project_id, hidden_kinds):
            by_actor[e.actor_name] += 1
            by_project[project_label(names, project_of(e), "(none)")] += 1
            by_type[e.kind] += 1
            by_source[e.source] += 1
            by_event[e.event_type] += 1
            by_day[day(e.time)] += 1
            changed.add(e.uuid)
            changes += 1
            first = e.position if first is None else first
            last = e.position
        data = self.new(window, project_id)
        data.summary = {
            "changes": changes,
            "actors": len(by_actor),
            "resources_changed": len(changed),
            "projects": len(by_project),
            "days_with_changes": len(by_day),
            "first_position": first,
            "last_position": last,
        }
        data.tables = [
            counted_table("by_actor", "Changes by actor", ("actor", "changes"), by_actor),
            counted_table("by_project", "Changes by project", ("project", "changes"),
                          by_project),
            counted_table("by_resource_type", "Changes by resource type",
                          ("resource_type", "changes"), by_type),
            counted_table("by_source", "Changes by source", ("source", "changes"), by_source),
            counted_table("by_event_type", "Changes by event type", ("event_type", "changes"),
                          by_event),
            Table("by_day", "Changes by day (UTC)", ["day", "changes"],
                  [[d.isoformat(), n] for d, n in sorted(by_day.items())]),
        ]
        data.charts = [
            per_day_chart("Changes per day", by_day, window, "changes"),
            top_chart("Changes by actor", by_actor, "changes"),
        ]
        return data

