"""What reports make of the rows they read: days, counted tables and bar charts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from craton.projections.timeline import iso, utc
from craton.reports.base import Chart, Table, Window

MAX_DAYS = 400


def day(value: datetime) -> date:
    """The UTC calendar day of a moment."""
    return utc(value).date()


def when(value: Any) -> str | None:
    """An RFC 3339 string for a stored time."""
    return iso(value)


def age_days(start: Any, end: datetime) -> float:
    """Days between two moments, to a tenth of a day."""
    return round((utc(end) - utc(start)).total_seconds() / 86400, 1)


def project_label(names: dict[str, str], project_id: str | None,
                  none: str | None) -> str | None:
    """A project's name (its id when it has none known), or ``none`` for no project."""
    return names.get(project_id, project_id) if project_id else none


def counted(counter: Counter[Any]) -> list[list[Any]]:
    """Rows (key, count), most first, then by key."""
    return [[k, n] for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))]


def counted_table(name: str, title: str, columns: tuple[str, str],
                  counter: Counter[Any]) -> Table:
    """A two-column table of a counter, most first."""
    return Table(name, title, list(columns), counted(counter))


def per_day_chart(title: str, days: Counter[date], window: Window, unit: str = "") -> Chart:
    """A bar per day of the window (empty days included), at most MAX_DAYS bars."""
    if not days:
        return Chart(title, [], [], unit)
    first = min(days)
    if window.start is not None:
        first = min(first, day(window.start))
    last = max(max(days), day(window.end))
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
    labels, values = [], []
    for offset in range((last - first).days + 1):  # (last may be the calendar's last day)
        current = first + timedelta(days=offset)
        labels.append(current.isoformat())
        values.append(float(days.get(current, 0)))
    return Chart(title, labels, values, unit)


def daily_chart(title: str, rows: Iterable[Any], window: Window, unit: str = "") -> Chart:
    """A bar per day of the window counting the rows (each with a ``time``) of that day."""
    return per_day_chart(title, Counter(day(r.time) for r in rows), window, unit)


def top_chart(title: str, counter: Counter[Any], unit: str = "", limit: int = 20) -> Chart:
    """A bar per key, the largest first, at most ``limit`` bars."""
    rows = counted(counter)[:limit]
    return Chart(title, [str(r[0]) for r in rows], [float(r[1]) for r in rows], unit)
