"""Report ``change-activity``: who changed what, where, from where, and when."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Connection

from craton.reports.base import BaseReport, ReportData, Table, Window
from craton.reports.figures import (
    counted_table,
    day,
    per_day_chart,
    project_label,
    top_chart,
)
from craton.reports.queries import events_in, project_names, project_of


class ChangeActivity(BaseReport):
    """Changes counted by actor, project, resource type, source and day."""

    name = "change-activity"
    title = "Change activity"
    description = "Changes by actor, project, resource type, source and day."

    def compute(self, conn: Connection, window: Window, project_id: str | None, *,
                hidden_kinds: tuple[str, ...] = ()) -> ReportData:
        events = events_in(conn, window, project_id, hidden_kinds=hidden_kinds)
        names = project_names(conn)
        by_actor: Counter[str] = Counter(e.actor_name for e in events)
        by_project: Counter[str | None] = Counter(
            project_label(names, project_of(e), "(none)") for e in events)
        by_type: Counter[str] = Counter(e.kind for e in events)
        by_source: Counter[str] = Counter(e.source for e in events)
        by_event: Counter[str] = Counter(e.event_type for e in events)
        by_day = Counter(day(e.time) for e in events)
        data = self.new(window, project_id)
        data.summary = {
            "changes": len(events),
            "actors": len(by_actor),
            "resources_changed": len({e.uuid for e in events}),
            "projects": len(by_project),
            "days_with_changes": len(by_day),
            "first_position": events[0].position if events else None,
            "last_position": events[-1].position if events else None,
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

