"""Report ``drift``: audit findings open and resolved, with their age."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection

from craton.projections.timeline import utc
from craton.reports.base import BaseReport, Cell, ReportData, Table, Window
from craton.reports.figures import age_days, counted_table, day, per_day_chart, top_chart, when
from craton.reports.queries import names_at, resources_at, versions_of

COLUMNS = ["finding_id", "finding_type", "resource_id", "resource", "status", "opened_at",
           "resolved_at", "age_days", "run_id", "resolved_by_run"]


def _resolution(versions: list[Any]) -> Any | None:
    """The version at which the finding was last resolved, if it is resolved."""
    last = versions[-1]
    if last.data.get("status") != "resolved":
        return None
    found = last
    for version in reversed(versions):
        if version.data.get("status") != "resolved":
            break
        found = version
    return found


class Drift(BaseReport):
    """Findings open at the window's end, and those opened or resolved during it."""

    name = "drift"
    title = "Drift: audit findings"
    description = "Audit findings open and resolved, with their age."

    def compute(self, conn: Connection, window: Window, project_id: str | None, *,
                hidden_kinds: tuple[str, ...] = ()) -> ReportData:
        findings = resources_at(conn, "finding", window.until, project_id)
        history = versions_of(conn, [f.id for f in findings], window.until)
        names = names_at(conn, [f.data.get("resource_id") for f in findings], window.until)
        rows: list[list[Cell]] = []
        open_ages: list[float] = []
        opened = resolved_in = 0
        open_types: Counter[str] = Counter()
        opened_days: Counter[Any] = Counter()
        for finding in findings:
            d = finding.data
            created_in = finding.id > window.after
            resolution = _resolution(history.get(finding.id, [finding]))
            resolved_at = resolution.from_time if resolution is not None else None
            resolved_during = resolution is not None and resolution.valid_from > window.after
            if resolution is None:
                age = age_days(finding.created_at, window.end)
                open_ages.append(age)
                open_types[str(d.get("finding_type"))] += 1
            elif created_in or resolved_during:
                age = age_days(finding.created_at, resolution.from_time)
            else:
                continue  # resolved before the window began
            if created_in:
                opened += 1
                opened_days[day(finding.created_at)] += 1
            resolved_in += int(resolved_during)
            rows.append([finding.id, d.get("finding_type"), d.get("resource_id"),
                         names.get(d.get("resource_id")),
                         "open" if resolution is None else "resolved",
                         when(finding.created_at), when(resolved_at), age,
                         d.get("run_id"), d.get("resolved_by_run")])
        rows.sort(key=lambda r: (r[4] != "open", -float(r[7] or 0), int(r[0] or 0)))
        data = self.new(window, project_id)
        data.summary = {
            "open": len(open_ages),
            "opened_in_window": opened,
            "resolved_in_window": resolved_in,
            "oldest_open_days": max(open_ages) if open_ages else None,
            "mean_open_age_days": round(sum(open_ages) / len(open_ages), 1)
            if open_ages else None,
            "as_of": when(utc(window.end)),
        }
        data.tables = [
            Table("findings", "Findings (open first, oldest first)", COLUMNS, rows),
            counted_table("open_by_type", "Open findings by type", ("finding_type", "open"),
                          open_types),
        ]
        data.charts = [
            top_chart("Open findings by type", open_types, "findings"),
            per_day_chart("Findings opened per day", opened_days, window, "findings"),
        ]
        return data
