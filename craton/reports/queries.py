"""Queries every report shares: the window's events, resources as of its end."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from craton.projections.tables import LIVE
from craton.projections.timeline import iso, utc, visible
from craton.reports.base import Chart, Window

MAX_DAYS = 400


def events_in(conn: Connection, window: Window, project_id: str | None,
              *conds: Any) -> list[Any]:
    """The events of the window, oldest first, limited to one project when given."""
    e = LIVE.events
    where = [e.c.position > window.after, e.c.position <= window.until, *conds]
    if project_id is not None:
        where.append(or_(e.c.project_id == project_id,
                         and_(e.c.kind == "project", e.c.uuid == project_id)))
    return list(conn.execute(select(e).where(*where).order_by(e.c.position)))


def project_of(event: Any) -> str | None:
    """The project an event belongs to (a project's own events belong to it)."""
    return str(event.uuid) if event.kind == "project" else event.project_id


def resources_at(conn: Connection, kind: str, at: int, project_id: str | None) -> list[Any]:
    """Resources of one kind as they were at position ``at``."""
    t = LIVE.resources
    where = [t.c.kind == kind, visible(t, at)]
    if project_id is not None:
        where.append(t.c.project_id == project_id)
    return list(conn.execute(select(t).where(*where).order_by(t.c.id)))


def versions_of(conn: Connection, ids: Iterable[int], until: int) -> dict[int, list[Any]]:
    """Every version of the given resources up to position ``until``, oldest first."""
    t = LIVE.resources
    out: dict[int, list[Any]] = {}
    idl = sorted(set(ids))
    for start in range(0, len(idl), 900):
        rows = conn.execute(select(t).where(t.c.id.in_(idl[start:start + 900]),
                                            t.c.valid_from <= until)
                            .order_by(t.c.id, t.c.valid_from))
        for row in rows:
            out.setdefault(row.id, []).append(row)
    return out


def project_names(conn: Connection) -> dict[str, str]:
    """Project uuid to its latest name (deleted projects included)."""
    t = LIVE.resources
    rows = conn.execute(select(t.c.uuid, t.c.name).where(t.c.kind == "project")
                        .order_by(t.c.valid_from))
    return {uuid: name for uuid, name in rows}


def day(value: datetime) -> date:
    """The UTC calendar day of a moment."""
    return utc(value).date()


def counted(counter: Counter[Any]) -> list[list[Any]]:
    """Rows (key, count), most first, then by key."""
    return [[k, n] for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))]


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
    current = first
    while current <= last:
        labels.append(current.isoformat())
        values.append(float(days.get(current, 0)))
        current += timedelta(days=1)
    return Chart(title, labels, values, unit)


def when(value: Any) -> str | None:
    """An RFC 3339 string for a stored time."""
    return iso(value)


def age_days(start: Any, end: datetime) -> float:
    """Days between two moments, to a tenth of a day."""
    return round((utc(end) - utc(start)).total_seconds() / 86400, 1)


def top_chart(title: str, counter: Counter[Any], unit: str = "", limit: int = 20) -> Chart:
    """A bar per key, the largest first, at most ``limit`` bars."""
    rows = counted(counter)[:limit]
    return Chart(title, [str(r[0]) for r in rows], [float(r[1]) for r in rows], unit)


def names_at(conn: Connection, ids: Iterable[int | None], at: int) -> dict[int, str]:
    """Names of resources by id as of position ``at`` (latest known name if deleted)."""
    t = LIVE.resources
    idl = sorted({i for i in ids if isinstance(i, int)})
    out: dict[int, str] = {}
    for start in range(0, len(idl), 900):
        rows = conn.execute(select(t.c.id, t.c.name).where(
            t.c.id.in_(idl[start:start + 900]), t.c.valid_from <= at).order_by(t.c.valid_from))
        out.update({rid: name for rid, name in rows})
    return out
