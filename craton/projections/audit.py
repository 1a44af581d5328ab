"""The audit trail and the history of one resource."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, or_, select

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
    hidden_kinds: tuple[str, ...] = ()  # kinds the caller may not read


def present_event(row: Any) -> dict[str, Any]:
    """An audit row (every column of the event log, in the table's order) as the API shows it.

    Unpacked at once: a history shows dozens of these, and a column added to the
    table fails here loudly rather than being left out.
    """
    (position, time, event_type, kind, resource_id, uuid, version, project_id, actor_id,
     actor_name, source, request_id, reason, run_id, changes) = row
    return {
        "position": position, "time": iso(time), "event_type": event_type,
        "resource_type": kind, "resource_id": resource_id, "resource_uuid": uuid,
        "version": version, "project_id": project_id,
        "actor": {"id": actor_id, "name": actor_name}, "source": source,
        "request_id": request_id, "reason": reason, "run_id": run_id, "changes": changes,
    }


def matching(q: EventQuery, tables: Tables = LIVE) -> list[Any]:
    """The conditions an event meets to be in the audit trail ``q`` asks for (every
    filter but the page's ``after``)."""
    e = tables.events
    conds = []
    if q.since is not None:
        conds.append(e.c.position >= q.since)
    if q.until is not None:
        conds.append(e.c.position <= q.until)
    for col, value in (("actor_name", q.actor), ("kind", q.resource_type),
                       ("resource_id", q.resource_id), ("event_type", q.event_type),
                       ("request_id", q.request_id), ("run_id", q.run_id),
                       ("project_id", q.project_id)):
        if value is not None:
            conds.append(e.c[col] == value)
    if q.hidden_kinds:
        conds.append(e.c.kind.not_in(q.hidden_kinds))
    return conds


def events(conn: Connection, q: EventQuery, tables: Tables = LIVE) -> tuple[list[Any], bool]:
    """The audit trail, oldest first; one page and whether more follow."""
    e = tables.events
    conds = matching(q, tables)
    if q.after is not None:
        conds.append(e.c.position > q.after)
    rows = list(conn.execute(
        select(e).where(*conds).order_by(e.c.position).limit(q.limit + 1)))
    return rows[:q.limit], len(rows) > q.limit


def history(conn: Connection, resource_id: int, tables: Tables = LIVE, *,
            after: int = 0, until: int | None = None, limit: int | None = None
            ) -> tuple[list[dict[str, Any]], bool]:
    """The events of one resource after position ``after`` (up to ``until``; at most
    ``limit``), each with the resource's fields as it left them, and whether more
    follow.

    An entry's ``state`` is the version true at its event (none once deleted);
    ``valid_from``/``valid_to`` are its event's position and the next one's (None
    for the last up to ``until``).
    """
    t, e = tables.resources, tables.events
    query = select(e).where(e.c.resource_id == resource_id, e.c.position > after)
    if until is not None:
        query = query.where(e.c.position <= until)
    if limit is not None:
        query = query.limit(limit + 1)  # the one after the page: its valid_to, and more
    events = conn.execute(query.order_by(e.c.position)).all()
    more = limit is not None and len(events) > limit
    # Only the versions true at some event of the page: a page costs its own length.
    versions = conn.execute(
        select(t.c.valid_from, t.c.valid_to, t.c.data)  # only what an entry shows
        .where(t.c.id == resource_id,
               t.c.valid_from <= (events[-1].position if events else after),
               or_(t.c.valid_to.is_(None), t.c.valid_to > after))
        .order_by(t.c.valid_from)).all()
    starts = [v.valid_from for v in versions]
    out = []
    for i, ev in enumerate(events[:limit] if limit is not None else events):
        entry = present_event(ev)
        found = bisect_right(starts, ev.position) - 1
        version = versions[found] if found >= 0 else None
        true_then = version is not None and (
            version.valid_to is None or version.valid_to > ev.position)
        entry["state"] = version.data if true_then else None  # type: ignore[union-attr]
        entry["valid_from"] = ev.position
        entry["valid_to"] = events[i + 1].position if i + 1 < len(events) else None
        out.append(entry)
    return out, more
