"""The audit trail and the history of one resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from craton.projections.tables import LIVE, Tables
from craton.projections.timeline import iso


@dataclass
class EventQuery:
    """Filters on the audit trail; positions are inclusive bounds."""

    since: int | None = None
    until: int | None = None
    after: int | None = None
    actor: str | None = None
    resource_type: str | None = None
    resource_id: int | None = None
    event_type: str | None = None
    request_id: str | None = None
    run_id: str | None = None
    project_id: str | None = None
    limit: int = 100


def present_event(row: Any) -> dict[str, Any]:
    return {
        "position": row.position, "time": iso(row.time), "event_type": row.event_type,
        "resource_type": row.kind, "resource_id": row.resource_id,
        "resource_uuid": row.uuid, "version": row.version, "project_id": row.project_id,
        "actor": {"id": row.actor_id, "name": row.actor_name}, "source": row.source,
        "request_id": row.request_id, "reason": row.reason, "run_id": row.run_id,
        "changes": row.changes,
    }


def events(conn: Connection, q: EventQuery, tables: Tables = LIVE) -> tuple[list[Any], bool]:
    """The audit trail, oldest first; one page and whether more follow."""
    e = tables.events
    conds = []
    if q.since is not None:
        conds.append(e.c.position >= q.since)
    if q.until is not None:
        conds.append(e.c.position <= q.until)
    if q.after is not None:
        conds.append(e.c.position > q.after)
    for col, value in (("actor_name", q.actor), ("kind", q.resource_type),
                       ("resource_id", q.resource_id), ("event_type", q.event_type),
                       ("request_id", q.request_id), ("run_id", q.run_id),
                       ("project_id", q.project_id)):
        if value is not None:
            conds.append(e.c[col] == value)
    rows = list(conn.execute(
        select(e).where(*conds).order_by(e.c.position).limit(q.limit + 1)))
    return rows[:q.limit], len(rows) > q.limit


def history(conn: Connection, resource_id: int, tables: Tables = LIVE) -> list[dict[str, Any]]:
    """Every version of one resource, each with the event that made it."""
    t, e = tables.resources, tables.events
    versions = {r.valid_from: r for r in conn.execute(  # only what an entry shows
        select(t.c.valid_from, t.c.valid_to, t.c.data).where(t.c.id == resource_id))}
    out = []
    for ev in conn.execute(
            select(e).where(e.c.resource_id == resource_id).order_by(e.c.position)):
        row = versions.get(ev.position)
        entry = present_event(ev)
        entry["state"] = dict(row.data) if row is not None else None
        entry["valid_from"] = ev.position
        entry["valid_to"] = row.valid_to if row is not None else None
        out.append(entry)
    return out
